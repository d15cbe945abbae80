"""The rules of each text-to-image family, applied explicitly by the keyframe backend.

A family is known by the class of the pipeline that loaded (`family_of(pipe)`), so switching a
profile's model id (or a film's `models: {keyframe: {model: ...}}`) switches the rules with it:

| family  | pipeline                  | size multiple    | steps, guidance             | text tokens  | neg. | IP-Ad. |
|---------|---------------------------|------------------|-----------------------------|--------------|------|--------|
| sd      | StableDiffusionPipeline   | VAE scale (8)    | 50, 7.5                     | CLIP 77      | yes  | yes    |
| sdxl    | StableDiffusionXLPipeline | VAE scale (8)    | 50, 5.0; turbo 4, 0.0       | CLIP 77      | yes  | yes    |
| sd3     | StableDiffusion3Pipeline  | VAE x patch (16) | 28, 7.0; turbo 4, 0.0       | 256 (<= 512) | yes  | no     |
| flux    | FluxPipeline              | VAE x 2 (16)     | dev 28, 3.5; schnell 4, 0.0 | 512 / 256    | no   | no     |
| z-image | ZImagePipeline            | VAE x 2 (16)     | 50, 5.0; turbo 9, 0.0       | 512          | yes  | no     |

(steps and guidance apply where the settings give none; "text tokens" is the default
max_sequence_length, CLIP's 77 being fixed; SD 3 also renders at most 1536 px a side, its position
embedding's reach.)

Sizes are rounded to the nearest multiple (a tie goes to the even multiple, as Python's `round`
does), the model renders at that size and the keyframe is resized back to the shot's size; the
rounding is recorded. Sizes a family cannot render (larger than SD 3's position embedding covers)
and settings it cannot honour are a `KeyframeRuleError` naming the rule. An IP-Adapter on a family
without one here is not loaded: characters are carried by the prompt.

"turbo" in a model id (sdxl-turbo, stable-diffusion-3.5-large-turbo, Z-Image-Turbo) picks the
distilled defaults; FLUX.1-schnell is told from FLUX.1-dev by its missing guidance embedding.
"""

import inspect
from dataclasses import dataclass


class KeyframeRuleError(ValueError):
    """A keyframe request or setting the loaded family cannot meet; the message names the rule."""


@dataclass(frozen=True)
class Family:
    id: str
    name: str
    pipelines: tuple[str, ...]
    steps: int
    guidance: float
    negative_prompt: bool
    ip_adapter: bool
    text_tokens: int | None = None  # the default max_sequence_length; None: fixed (CLIP's 77 tokens)
    max_text_tokens: int | None = None
    turbo: tuple[int, float] | None = None  # the distilled checkpoints' (steps, guidance)
    why_no_ip_adapter: str = ""
    why_no_negative_prompt: str = ""


FAMILIES = (
    Family("sd", "SD 1.5/2", ("StableDiffusionPipeline",), steps=50, guidance=7.5, negative_prompt=True,
           ip_adapter=True),
    Family("sdxl", "SDXL", ("StableDiffusionXLPipeline",), steps=50, guidance=5.0, negative_prompt=True,
           ip_adapter=True, turbo=(4, 0.0)),
    Family("sd3", "SD 3", ("StableDiffusion3Pipeline",), steps=28, guidance=7.0, negative_prompt=True,
           ip_adapter=False, text_tokens=256, max_text_tokens=512, turbo=(4, 0.0),
           why_no_ip_adapter="SD 3 has no IP-Adapter in this backend (its h94 layout is for the UNet families)"),
    Family("flux", "FLUX", ("FluxPipeline",), steps=28, guidance=3.5, negative_prompt=False, ip_adapter=False,
           text_tokens=512, max_text_tokens=512,
           why_no_ip_adapter="FLUX has no IP-Adapter in this backend",
           why_no_negative_prompt="FLUX is guidance-distilled: it takes no negative prompt"),
    Family("z-image", "Z-Image", ("ZImagePipeline",), steps=50, guidance=5.0, negative_prompt=True,
           ip_adapter=False, text_tokens=512, turbo=(9, 0.0),
           why_no_ip_adapter="Z-Image has no IP-Adapter in diffusers"),
)
_BY_PIPELINE = {name: family for family in FAMILIES for name in family.pipelines}


@dataclass(frozen=True)
class Rules:
    """A family's rules as they apply to one loaded pipeline."""
    family: Family
    pipeline: str
    size_multiple: int
    steps: int
    guidance: float
    text_tokens: int | None
    max_text_tokens: int | None
    max_side: int | None = None
    max_side_why: str = ""

    def native_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """The size the model renders for a keyframe of `size`: each side rounded to the nearest multiple."""
        native = tuple(nearest_multiple(side, self.size_multiple) for side in size)
        if self.max_side and max(native) > self.max_side:
            raise KeyframeRuleError(
                f"{self.family.name} renders at most {self.max_side} px a side ({self.max_side_why}); "
                f"{size[0]}x{size[1]} cannot be rendered: lower the film's resolution (the upscale stage "
                f"enlarges the clips)")
        return native

    def facts(self, size: tuple[int, int]) -> dict:
        native = self.native_size(size)
        facts = {"family": self.family.id, "pipeline": self.pipeline, "native_size": f"{native[0]}x{native[1]}",
                 "size_multiple": self.size_multiple}
        if native != tuple(size):
            facts["size_rounded_from"] = f"{size[0]}x{size[1]}"
        return facts


def nearest_multiple(value: int, of: int) -> int:
    """The nearest multiple of `of` (never below `of`); a tie goes to the even multiple."""
    return max(of, round(value / of) * of)


def family_of(pipe) -> Family | None:
    """The family of a loaded pipeline, by its class (or the diffusers class it derives from)."""
    for cls in type(pipe).__mro__:
        if cls.__name__ in _BY_PIPELINE:
            return _BY_PIPELINE[cls.__name__]
    return None


def _other(pipe) -> Family:
    """A pipeline no rule here knows: its own __call__ defaults, no IP-Adapter."""
    params = inspect.signature(pipe.__call__).parameters

    def default(name, fallback):
        value = params[name].default if name in params else fallback
        return fallback if value is inspect.Parameter.empty or value is None else value

    name = type(pipe).__name__
    return Family(f"other:{name}", name, (name,), steps=int(default("num_inference_steps", 30)),
                  guidance=float(default("guidance_scale", 5.0)), negative_prompt="negative_prompt" in params,
                  ip_adapter=False, text_tokens=None,
                  why_no_ip_adapter=f"{name} has no IP-Adapter in this backend",
                  why_no_negative_prompt=f"{name} takes no negative prompt")


def rules_for(pipe, model: str = "") -> Rules:
    """The rules for this loaded pipeline (`model` is the id it was loaded from: "turbo" picks distilled defaults)."""
    family = family_of(pipe) or _other(pipe)
    vae_scale = int(getattr(pipe, "vae_scale_factor", 8) or 8)
    steps, guidance, text_tokens = family.steps, family.guidance, family.text_tokens
    if family.turbo and "turbo" in model.lower():
        steps, guidance = family.turbo
    max_side, why, max_tokens = None, "", family.max_text_tokens
    if family.id in ("sd", "sdxl"):
        multiple = vae_scale
    elif family.id == "sd3":
        patch = int(pipe.transformer.config.patch_size)
        multiple = vae_scale * patch
        embed = pipe.transformer.config.pos_embed_max_size
        if embed:
            max_side, why = embed * patch * vae_scale, f"pos_embed_max_size {embed} x patch {patch} x VAE {vae_scale}"
    elif family.id == "flux":
        multiple = vae_scale * 2  # latents are packed 2x2
        if not pipe.transformer.config.guidance_embeds:  # FLUX.1-schnell: timestep-distilled
            steps, guidance, text_tokens = 4, 0.0, 256
    elif family.id == "z-image":
        multiple = vae_scale * 2  # the transformer patches 2x2
        max_tokens = int(getattr(pipe.text_encoder.config, "max_position_embeddings", 0) or 0) or None
    else:
        multiple = vae_scale * 2 if hasattr(pipe, "transformer") else vae_scale
    return Rules(family, type(pipe).__name__, multiple, steps, guidance, text_tokens, max_tokens, max_side, why)


def check_settings(rules: Rules, size_multiple: int | None, max_sequence_length: int | None) -> int:
    """The size multiple to render at; settings the family cannot honour raise `KeyframeRuleError`."""
    name = rules.family.name
    if max_sequence_length is not None:
        if rules.text_tokens is None:
            raise KeyframeRuleError(f"max_sequence_length: {name} reads a fixed 77 CLIP tokens; remove "
                                    f"max_sequence_length from the keyframe settings")
        if rules.max_text_tokens and max_sequence_length > rules.max_text_tokens:
            raise KeyframeRuleError(f"max_sequence_length: {name} reads at most {rules.max_text_tokens} text "
                                    f"tokens, the settings ask for {max_sequence_length}")
    if size_multiple is None:
        return rules.size_multiple
    if size_multiple < 1 or size_multiple % rules.size_multiple:
        raise KeyframeRuleError(f"size_multiple: {name} renders sizes in multiples of {rules.size_multiple}; "
                                f"{size_multiple} is not one of them")
    return size_multiple
