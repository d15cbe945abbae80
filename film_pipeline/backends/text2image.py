"""Keyframes from any diffusers text-to-image checkpoint (SD 1.5/2, SDXL, SD 3, FLUX, ...), with
an IP-Adapter for characters that stay the same from shot to shot. The model loads once, when the
backend is created; `get_backend` keeps one per process.
"""

from PIL import Image

from film_pipeline.backends import KeyframeRequest
from film_pipeline.backends.diffusers_common import accepted, multiple, prepare
from film_pipeline.models import LOADS, ModelMissingError, downloads_allowed, generator, load_pretrained, pick_device, pick_dtype, resolve_model


def keyframe_prompt(request: KeyframeRequest) -> str:
    """The shot's prompt, each character's description (the fallback for consistency), the style."""
    parts = [request.prompt] + [f"{c.name}: {c.description}" for c in request.characters]
    return ", ".join(parts + ([request.style] if request.style else []))


class DiffusersText2Image:
    """Keyframes from any text-to-image checkpoint; with an IP-Adapter, characters stay the same.

    With `ip_adapter` settings, each character gets a reference image, generated once from its
    description and fixed seed, and every shot with that character is conditioned on it.
    Without one (or for families IP-Adapter does not support) the character's description in
    the prompt is what carries it from shot to shot.
    """

    name = "diffusers-t2i"
    version = "2"

    def __init__(self, model: str, steps: int = 4, guidance: float = 0.0, negative_prompt: str = "",
                 device: str = "auto", dtype: str = "auto", cpu_offload: bool = False,
                 attention_slicing: bool = False, vae_tiling: bool = False, size_multiple: int = 8,
                 ip_adapter: dict | None = None, reference_size: int = 512):
        from diffusers import AutoPipelineForText2Image

        self.device = pick_device(device)
        self.steps, self.guidance, self.negative_prompt, self.multiple = steps, guidance, negative_prompt, size_multiple
        pipe = load_pretrained(AutoPipelineForText2Image, model, "keyframe", dtype=pick_dtype(dtype, self.device))
        self.adapter_scale = _load_ip_adapter(pipe, ip_adapter) if ip_adapter else 0.0
        self.pipe = prepare(pipe, self.device, cpu_offload, attention_slicing, vae_tiling)
        self.reference_size = reference_size
        self._references: dict[tuple, Image.Image] = {}

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
        width, height = size
        extra = {}
        if self.adapter_scale:  # a loaded adapter wants an image every call: scale 0 when there is none
            self.pipe.set_ip_adapter_scale(self.adapter_scale if reference else 0.0)
            extra["ip_adapter_image"] = reference or Image.new("RGB", (224, 224), (128, 128, 128))
        image = self.pipe(**accepted(
            self.pipe, prompt=prompt, negative_prompt=self.negative_prompt or None,
            num_inference_steps=self.steps, guidance_scale=self.guidance,
            width=multiple(width, self.multiple), height=multiple(height, self.multiple),
            generator=generator(self.device, seed), **extra)).images[0]
        return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


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
