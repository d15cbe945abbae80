"""Keyframes from any diffusers text-to-image checkpoint (SD 1.5/2, SDXL, SD 3, FLUX, Z-Image, ...), with
an IP-Adapter for characters that stay the same from shot to shot. The model loads once, when the
backend is created; `get_backend` keeps one per process.

The family is read from the loaded pipeline and its rules applied (`models/keyframe_families.py`):
sizes rounded to its multiple, its steps and guidance where the settings give none, its text length,
whether it takes a negative prompt or an IP-Adapter. What was applied is `facts(request)`, which the
storyboard records in its metadata (`family`, `native_size`, `size_rounded_from`, `ip_adapter`, ...).
`pipeline: auto` (the default) loads through AutoPipelineForText2Image; a diffusers class name loads
through that class.
"""

import inspect
import logging
import re
from dataclasses import replace

from PIL import Image

from film_pipeline.backends import KeyframeRequest
from film_pipeline.backends.diffusers_common import accepted, prepare
from film_pipeline.models import LOADS, ModelMissingError, downloads_allowed, generator, load_pretrained, pick_device, pick_dtype, resolve_model
from film_pipeline.models.keyframe_families import KeyframeRuleError, check_settings, rules_for

log = logging.getLogger(__name__)


def keyframe_prompt(request: KeyframeRequest) -> str:
    """The shot's prompt, each character's description (the fallback for consistency), the style."""
    parts = [request.prompt] + [f"{c.name}: {c.description}" for c in request.characters]
    return ", ".join(parts + ([request.style] if request.style else []))


class DiffusersText2Image:
    """Keyframes from any text-to-image checkpoint; with an IP-Adapter, characters stay the same.

    With `ip_adapter` settings, each character gets a reference image, generated once from its
    description and fixed seed, and every shot with that character is conditioned on it.
    Without one the character's description in the prompt is what carries it from shot to shot;
    so too for a family without IP-Adapter here, or an adapter whose weights do not fit the
    pipeline (a profile's adapter after a `models:` switch of family): it is not loaded, a
    warning is logged and `facts` says why.
    """

    name = "diffusers-t2i"
    version = "2"

    def __init__(self, model: str, steps: int | None = None, guidance: float | None = None, negative_prompt: str = "",
                 device: str = "auto", dtype: str = "auto", cpu_offload: bool = False,
                 attention_slicing: bool = False, vae_tiling: bool = False, size_multiple: int | None = None,
                 ip_adapter: dict | None = None, reference_size: int = 512, pipeline: str = "auto",
                 max_sequence_length: int | None = None):
        self.device = pick_device(device)
        pipe = load_pretrained(_loader(pipeline), model, "keyframe", dtype=pick_dtype(dtype, self.device))
        rules = rules_for(pipe, model)
        self.rules = replace(rules, size_multiple=check_settings(rules, size_multiple, max_sequence_length))
        self.family = self.rules.family
        # the profile's steps and guidance, else the family's defaults (recorded in `facts`)
        self.defaulted = [name for name, value in (("steps", steps), ("guidance", guidance)) if value is None]
        self.steps = self.rules.steps if steps is None else steps
        self.guidance = self.rules.guidance if guidance is None else guidance
        self.max_sequence_length = max_sequence_length or self.rules.text_tokens
        self.negative_prompt, self.multiple = negative_prompt, self.rules.size_multiple
        self._notes: dict[str, str] = {}
        if negative_prompt and not self.family.negative_prompt:
            self._not_used("negative_prompt", self.family.why_no_negative_prompt)
            self.negative_prompt = ""
        self.adapter_scale = self._ip_adapter(pipe, ip_adapter) if ip_adapter else 0.0
        self.pipe = prepare(pipe, self.device, cpu_offload, attention_slicing, vae_tiling)
        self.reference_size = reference_size
        self._references: dict[tuple, Image.Image] = {}

    def facts(self, request: KeyframeRequest) -> dict:
        """The family's rules as this keyframe met them: family, the size it rendered at (and what it was
        rounded from), steps and guidance (and which were the family's defaults), what was not used."""
        facts = {**self.rules.facts(request.size), "steps": self.steps, "guidance": float(self.guidance)}
        if self.defaulted:
            facts["family_defaults"] = ", ".join(self.defaulted)
        if self.max_sequence_length and "max_sequence_length" in _call_params(self.pipe):
            facts["max_sequence_length"] = self.max_sequence_length
        if self.adapter_scale:
            facts["ip_adapter"] = f"used, scale {self.adapter_scale}"
        return {**facts, **self._notes}

    def _ip_adapter(self, pipe, settings: dict) -> float:
        """Load the IP-Adapter where the family has one and its weights fit; else 0 (not used, and why)."""
        family = self.family
        if not family.ip_adapter:
            return self._not_used("ip_adapter", f"{family.why_no_ip_adapter}; characters are carried by the prompt")
        try:
            return _load_ip_adapter(pipe, settings)
        except (ValueError, RuntimeError, KeyError) as error:  # weights shaped for another family
            if hasattr(pipe, "unload_ip_adapter"):
                pipe.unload_ip_adapter()  # a half-loaded adapter: its image encoder may be registered already
            reason = re.sub(r"torch\.Size\((\[[^\]]*\])\)", r"\1", str(error).split(". ")[0])
            reason = re.sub(r"^Cannot load\s+because\s+", "", reason)
            return self._not_used("ip_adapter", f"`{settings.get('model')}` does not fit this {family.name} "
                                                 f"pipeline ({reason}); characters are carried by the prompt")

    def _not_used(self, setting: str, why: str) -> float:
        self._notes[setting] = f"not used: {why}"
        log.warning("keyframe %s not used: %s", setting, why)
        return 0.0

    def paint(self, request: KeyframeRequest) -> Image.Image:
        references = list(request.references) or list(self.references(request).values())
        return self._generate(keyframe_prompt(request), request.seed, request.size, _side_by_side(references))

    def references(self, request: KeyframeRequest) -> dict[str, Image.Image]:
        """Each character's reference image (empty without an IP-Adapter)."""
        if not self.adapter_scale:
            return {}
        return {c.name: self.reference(c.name, c.description, c.seed) for c in request.characters}

    def reference(self, name: str, description: str, seed: int) -> Image.Image:
        key = (name, description, seed)
        if key not in self._references:  # once per character version, reused by every shot
            prompt = f"{name}, {description}, full figure, plain neutral background"
            self._references[key] = self._generate(prompt, seed, (self.reference_size,) * 2, None)
        return self._references[key]

    def _generate(self, prompt: str, seed: int, size: tuple[int, int], reference: Image.Image | None) -> Image.Image:
        native = self.rules.native_size(size)  # the family's size multiple (a size it cannot render: an error)
        extra = {}
        if self.adapter_scale:  # a loaded adapter wants an image every call: scale 0 when there is none
            self.pipe.set_ip_adapter_scale(self.adapter_scale if reference else 0.0)
            extra["ip_adapter_image"] = reference or Image.new("RGB", (224, 224), (128, 128, 128))
        image = self.pipe(**accepted(
            self.pipe, prompt=prompt, negative_prompt=self.negative_prompt or None,
            num_inference_steps=self.steps, guidance_scale=self.guidance,
            width=native[0], height=native[1], max_sequence_length=self.max_sequence_length,
            generator=generator(self.device, seed), **extra)).images[0]
        return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def _loader(pipeline: str):
    """`auto`: AutoPipelineForText2Image (every family here); or the name of a diffusers pipeline class."""
    import diffusers

    if pipeline == "auto":
        return diffusers.AutoPipelineForText2Image
    loader = getattr(diffusers, pipeline, None)
    if loader is None or not hasattr(loader, "from_pretrained"):
        raise KeyframeRuleError(f"pipeline: diffusers has no pipeline class `{pipeline}`; use `auto` or a class name "
                                f"such as StableDiffusionXLPipeline")
    return loader


def _call_params(pipe) -> set:
    return set(inspect.signature(pipe.__call__).parameters)


def _load_ip_adapter(pipe, settings: dict) -> float:
    """Load an IP-Adapter (h94/IP-Adapter layout) into the pipeline; returns its scale."""
    source = resolve_model(settings["model"], "keyframe")
    LOADS[("keyframe", f"{settings['model']} ip-adapter")] += 1
    try:
        pipe.load_ip_adapter(source, subfolder=settings.get("subfolder", ""), weight_name=settings["weight_name"],
                             image_encoder_folder=settings.get("image_encoder_folder", "image_encoder"),
                             local_files_only=not downloads_allowed())
    except OSError:
        raise ModelMissingError(f"the IP-Adapter `{settings['model']}/{settings.get('subfolder', '')}` is not in the "
                                f"local Hugging Face cache; run `hf download {settings['model']}` on a machine with "
                                f"network access, or remove `ip_adapter` from the profile") from None
    return float(settings.get("scale", 0.6))


def _side_by_side(images: list[Image.Image]) -> Image.Image | None:
    """One reference for a shot with several characters: their references next to each other."""
    if len(images) <= 1:
        return images[0] if images else None
    height = images[0].height
    sheet = Image.new("RGB", (sum(i.width for i in images), height))
    x = 0
    for image in images:
        sheet.paste(image.resize((image.width * height // image.height, height)), (x, 0))
        x += image.width
    return sheet
