"""The rules of each image-to-video family, applied explicitly by the `diffusers-i2v` backend.

A family's pipeline accepts only some clips: Wan wants 4k+1 frames and sizes that are multiples of
16, LTX-Video 8k+1 frames and multiples of 32, CogVideoX-5b-I2V exactly one length and one size, and
each pipeline rounds (or fails on) anything else in its own way, often silently. Here the rules are
written down once per family (`FAMILIES`), fitted to the loaded checkpoint (`rules_for`: compression
ratios, patch sizes and fixed sizes come from its components, so a variant with other ratios gets
its own numbers), and a clip's settings are rounded to the nearest valid value before the pipeline
sees them (`fit`); what was rounded is recorded. A request no rounding can meet is a
`MotionRuleError` that names the rule.

The family is detected from the loaded pipeline's class.
"""

import importlib.util
import math
from dataclasses import dataclass


class MotionRuleError(ValueError):
    """A clip setting the family's rules cannot meet (the message names the rule and the fix)."""


@dataclass(frozen=True)
class Family:
    """What a family is, as its real checkpoints are (the loaded one may refine the numbers)."""

    name: str
    pipelines: tuple[str, ...]       # the diffusers pipeline classes that are this family
    checkpoint: str                  # the real checkpoint the defaults describe (and the tiny replica mirrors)
    frame_rule: str                  # "any", "4k+1", "8k+1" or "fixed"
    frame_step: int                  # k's step: a clip is k * step + 1 frames (1: any count)
    size_multiple: int               # width and height are multiples of this
    native_frames: int               # the length the checkpoint was trained at (one call's default)
    max_frames: int | None           # the most frames one call makes (None: no limit the pipeline has)
    native_size: tuple[int, int]     # width, height
    fps_argument: str | None         # the `__call__` argument that takes the clip's rate, if any
    native_fps: int                  # the rate the model renders at (the only one, without an fps argument)
    guidance_argument: str | None    # the `__call__` argument that takes `guidance`; "guider": the pipeline's
    #                                  guider's scale; None: not settable (`guidance` is recorded as unused)
    guidance: float                  # default guidance
    steps: int                       # default steps
    first_last: str | None           # how the shot's end keyframe is used; None: the blended fallback
    size_argument: bool = True       # False: the pipeline picks its size from the image (a bucket)
    requires: tuple[str, ...] = ()   # Python modules the pipeline imports lazily (pip names)
    notes: str = ""


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("stable-video-diffusion", ("StableVideoDiffusionPipeline",),
           "stabilityai/stable-video-diffusion-img2vid-xt", frame_rule="any", frame_step=1, size_multiple=8,
           native_frames=25, max_frames=None, native_size=(1024, 576), fps_argument="fps", native_fps=7,
           guidance_argument=None, guidance=3.0, steps=25, first_last=None,
           notes="guidance is the pipeline's own ramp from 1.0 to 3.0 over the clip (min/max_guidance_scale; "
                 "`guidance` never reached it and is recorded as unused, so existing clips stay as they are); "
                 "its UNet takes any length: the trained one (num_frames: 25 for XT, 14 for the base model) is "
                 "the default, not a limit"),
    Family("ltx-video", ("LTXImageToVideoPipeline", "LTXConditionPipeline"), "Lightricks/LTX-Video",
           frame_rule="8k+1", frame_step=8, size_multiple=32, native_frames=161, max_frames=257,
           native_size=(704, 512), fps_argument="frame_rate", native_fps=25, guidance_argument="guidance_scale",
           guidance=3.0, steps=50, first_last="conditioning_frames",
           notes="the end keyframe is a conditioning frame at the last index (LTXConditionPipeline, loaded "
                 "from the same components); the frame rate conditions the model's motion"),
    Family("cogvideox-i2v", ("CogVideoXImageToVideoPipeline",), "THUDM/CogVideoX-5b-I2V",
           frame_rule="fixed", frame_step=4, size_multiple=16, native_frames=49, max_frames=49,
           native_size=(720, 480), fps_argument=None, native_fps=8, guidance_argument="guidance_scale",
           guidance=6.0, steps=50, first_last=None,
           notes="learned positional embeddings fix the size and length (the transformer's sample_width, "
                 "sample_height and sample_frames); CogVideoX 1.5 (no learned embeddings) takes 4k+1 frames "
                 "up to 81 at 16 fps, multiples of 16"),
    Family("wan-i2v", ("WanImageToVideoPipeline",), "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
           frame_rule="4k+1", frame_step=4, size_multiple=16, native_frames=81, max_frames=81,
           native_size=(832, 480), fps_argument=None, native_fps=16, guidance_argument="guidance_scale",
           guidance=5.0, steps=50, first_last="last_image", requires=("ftfy",),
           notes="`last_image` needs a transformer that takes two images: Wan2.1-FLF2V (image position "
                 "embeddings for two images, which then every call needs) or Wan 2.2 (no CLIP image tokens); "
                 "a Wan 2.1 I2V checkpoint has neither and uses the blended fallback"),
    Family("hunyuanvideo15-i2v", ("HunyuanVideo15ImageToVideoPipeline",),
           "hunyuanvideo-community/HunyuanVideo-1.5-480p_i2v", frame_rule="4k+1", frame_step=4,
           size_multiple=16, native_frames=121, max_frames=121, native_size=(848, 480), fps_argument=None,
           native_fps=24, guidance_argument="guider", guidance=6.0, steps=50, first_last=None, size_argument=False,
           notes="the size is the bucket of about target_size^2 pixels (640 for 480p) nearest the image's "
                 "aspect; guidance is the pipeline's ClassifierFreeGuidance guider"),
)}

BY_PIPELINE = {pipeline: family for family in FAMILIES.values() for pipeline in family.pipelines}

# what the shot's end keyframe becomes where a family cannot condition on it: the shot's last frames
# cross-dissolve to it (about a second of them, or all but the first when the shot is shorter)
BLENDED = "blended"


@dataclass(frozen=True)
class Rules:
    """A family's rules fitted to the loaded checkpoint."""

    family: Family
    frame_step: int
    size_multiple: int
    native_frames: int
    max_frames: int | None
    native_size: tuple[int, int]
    native_fps: int
    guidance: float                           # default guidance (HunyuanVideo-1.5: its guider's scale)
    fixed_frames: int | None = None           # CogVideoX with learned positional embeddings
    fixed_size: tuple[int, int] | None = None
    bucket: int | None = None                 # HunyuanVideo-1.5: the target size its buckets are cut from
    first_last: str | None = None             # what this checkpoint does with the end keyframe (None: blended)
    two_images: bool = False                  # Wan FLF2V: every call's image tokens are two images'

    @property
    def frame_rule(self) -> str:
        if self.fixed_frames:
            return "fixed"
        return "any" if self.frame_step == 1 else f"{self.frame_step}k+1"


def family_of(pipe) -> Family:
    """The family of a loaded pipeline, by its class; anything else is not an image-to-video pipeline here."""
    name = type(pipe).__name__
    if name not in BY_PIPELINE:
        known = ", ".join(sorted(BY_PIPELINE))
        raise MotionRuleError(f"`{name}` is not an image-to-video family the diffusers-i2v backend knows the rules "
                              f"of; set the motion `pipeline:` to one of {known} (and `model:` to its checkpoint)")
    return BY_PIPELINE[name]


def rules_for(pipe) -> Rules:
    """The family's rules with the numbers the loaded components really have."""
    family = family_of(pipe)
    for module in family.requires:
        if importlib.util.find_spec(module) is None:
            raise MotionRuleError(f"the {family.name} pipeline needs the `{module}` package (it cleans prompts "
                                  f"with it); install it: pip install {module}")
    config = lambda part: getattr(getattr(pipe, part, None), "config", None)  # noqa: E731
    transformer = config("transformer")
    base = dict(family=family, frame_step=family.frame_step, size_multiple=family.size_multiple,
                native_frames=family.native_frames, max_frames=family.max_frames, native_size=family.native_size,
                native_fps=family.native_fps, guidance=family.guidance, first_last=family.first_last)
    if family.name == "stable-video-diffusion":
        trained = getattr(config("unet"), "num_frames", None) or family.native_frames
        spatial = getattr(pipe, "vae_scale_factor", family.size_multiple)
        return Rules(**{**base, "native_frames": trained, "size_multiple": spatial})
    if family.name == "ltx-video":
        step = pipe.vae_temporal_compression_ratio
        multiple = pipe.vae_spatial_compression_ratio * pipe.transformer_spatial_patch_size
        return Rules(**{**base, "frame_step": step, "size_multiple": multiple})
    if family.name == "cogvideox-i2v":
        spatial, step = pipe.vae_scale_factor_spatial, pipe.vae_scale_factor_temporal
        multiple = spatial * transformer.patch_size
        if transformer.use_learned_positional_embeddings:
            size = (transformer.sample_width * spatial, transformer.sample_height * spatial)
            return Rules(**{**base, "frame_step": step, "size_multiple": multiple,
                            "native_frames": transformer.sample_frames, "max_frames": transformer.sample_frames,
                            "native_size": size, "fixed_frames": transformer.sample_frames, "fixed_size": size})
        # CogVideoX 1.5 (no learned positional embeddings): any size in multiples of 16, 4k+1 frames (the
        # pipeline pads the latents to its temporal patch itself), 81 of them at 16 fps
        return Rules(**{**base, "frame_step": step, "size_multiple": multiple, "native_frames": 81, "max_frames": 81,
                        "native_size": (1360, 768), "native_fps": 16})
    if family.name == "wan-i2v":
        step, spatial = pipe.vae_scale_factor_temporal, pipe.vae_scale_factor_spatial
        multiple = spatial * transformer.patch_size[1]
        two_images = transformer.image_dim is not None and transformer.pos_embed_seq_len is not None
        takes_last = transformer.image_dim is None or two_images
        return Rules(**{**base, "frame_step": step, "size_multiple": multiple, "two_images": two_images,
                        "first_last": "last_image" if takes_last else None,
                        **({"native_size": (1280, 720)} if two_images else {})})  # FLF2V is a 720P model
    # HunyuanVideo-1.5: the pipeline cuts the size from a bucket around the transformer's target size
    step, spatial = pipe.vae_scale_factor_temporal, pipe.vae_scale_factor_spatial
    guidance = getattr(getattr(pipe, "guider", None), "guidance_scale", family.guidance)
    return Rules(**{**base, "frame_step": step, "size_multiple": spatial, "bucket": pipe.target_size,
                    "guidance": float(guidance),
                    "native_size": bucket_size(family.native_size, pipe.target_size, spatial)})


def round_frames(count: int, step: int, most: int | None) -> int:
    """The nearest k * step + 1 (k >= 1: a call makes at least one new frame; halves round up), at most
    `most` (None: no limit)."""
    if step == 1:
        return max(2, count if most is None else min(count, most))
    k = max(1, math.floor((count - 1) / step + 0.5))
    return k * step + 1 if most is None else min(k * step + 1, (most - 1) // step * step + 1)


def round_size(size: tuple[int, int], multiple: int) -> tuple[int, int]:
    """Each side to the nearest multiple (halves round up), at least one multiple."""
    return tuple(max(multiple, math.floor(side / multiple + 0.5) * multiple) for side in size)


def bucket_size(size: tuple[int, int], target: int, multiple: int) -> tuple[int, int]:
    """HunyuanVideo-1.5's size for an image of `size`: the bucket of about target^2 pixels whose aspect is
    nearest (exactly as the pipeline computes it; width, height)."""
    from diffusers.pipelines.hunyuan_video1_5.image_processor import HunyuanVideo15ImageProcessor

    processor = HunyuanVideo15ImageProcessor(vae_scale_factor=multiple)
    height, width = processor.calculate_default_height_width(height=size[1], width=size[0], target_size=target)
    return int(width), int(height)


@dataclass(frozen=True)
class Fit:
    """One call's clip as the family's rules allow it, and what was rounded to get there."""

    frames: int
    size: tuple[int, int]
    model_fps: int
    steps: int
    guidance: float
    frames_rounded_from: int | None = None
    size_rounded_from: tuple[int, int] | None = None
    model_fps_from: int | None = None
    guidance_unused: float | None = None    # a `guidance` the family has no argument for


def fit(rules: Rules, num_frames: int | None, size: tuple[int, int] | None, model_fps: int | None,
        steps: int | None, guidance: float | None) -> Fit:
    """Round a clip's settings to the family's rules (None: the checkpoint's native value)."""
    family = rules.family
    frames = rules.native_frames if num_frames is None else int(num_frames)
    if frames < 2:
        raise MotionRuleError(f"num_frames {frames}: a {family.name} call must make at least two frames (the "
                              f"shot is extended from each call's last frame); its rule is {rules.frame_rule}")
    wanted_size = rules.native_size if size is None else (int(size[0]), int(size[1]))
    if min(wanted_size) < 1:
        raise MotionRuleError(f"width/height {wanted_size[0]}x{wanted_size[1]}: a {family.name} clip needs a "
                              f"positive size (multiples of {rules.size_multiple})")
    if steps is not None and int(steps) < 1:
        raise MotionRuleError(f"steps {steps}: a {family.name} call needs at least one denoising step")
    if model_fps is not None and model_fps <= 0:
        raise MotionRuleError(f"model_fps {model_fps}: the model's frame rate must be positive")

    fitted = rules.fixed_frames or round_frames(frames, rules.frame_step, rules.max_frames)
    if rules.fixed_size:
        fitted_size = rules.fixed_size
    elif rules.bucket:
        fitted_size = bucket_size(wanted_size, rules.bucket, rules.size_multiple)
    else:
        fitted_size = round_size(wanted_size, rules.size_multiple)
    if family.fps_argument:
        fps, fps_from = int(model_fps or rules.native_fps), None
    else:  # the model renders at its own rate, whatever the settings say
        fps = rules.native_fps
        fps_from = int(model_fps) if model_fps is not None and int(model_fps) != fps else None
    settable = family.guidance_argument is not None
    return Fit(frames=fitted, size=fitted_size, model_fps=fps, steps=int(steps or family.steps),
               guidance=float(rules.guidance if guidance is None or not settable else guidance),
               guidance_unused=None if guidance is None or settable else float(guidance),
               frames_rounded_from=frames if num_frames is not None and fitted != frames else None,
               size_rounded_from=wanted_size if size is not None and fitted_size != wanted_size else None,
               model_fps_from=fps_from)


def calls_for(native_wanted: int, per_call: int) -> int:
    """Calls of `per_call` frames that cover `native_wanted` frames when each call after the first starts
    on the previous call's last frame (so adds per_call - 1 new ones)."""
    return 1 + max(0, math.ceil((native_wanted - per_call) / (per_call - 1)))


def describe(rules: Rules) -> dict:
    """The rules as scalar facts (for metadata and the docs table)."""
    family = rules.family
    return {"family": family.name, "frame_rule": rules.frame_rule, "size_multiple": rules.size_multiple,
            "max_frames_per_call": rules.max_frames or "none",
            "fps_argument": family.fps_argument or "none", "native_fps": rules.native_fps,
            "end_keyframe_support": rules.first_last or BLENDED}
