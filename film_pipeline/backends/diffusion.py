"""diffusers backends: text-to-image keyframes, image-to-video clips, and the x4 upscaler.

One class per stage serves a whole family of checkpoints: the text-to-image backend loads any
`AutoPipelineForText2Image` model (SD 1.5/2, SDXL, SDXL-Turbo, SD 3, FLUX); the image-to-video
backend loads any diffusers image-to-video pipeline (Stable Video Diffusion, LTX-Video,
CogVideoX-I2V, Wan I2V) and passes each only the arguments its `__call__` accepts. Models load
once, when the backend is created; `get_backend` keeps one per process.
"""

import inspect
import math
from collections.abc import Iterator

import numpy as np
from PIL import Image

from film_pipeline.backends import KeyframeRequest, MotionRequest
from film_pipeline.models import (LOADS, ModelMissingError, downloads_allowed, generator, load_pretrained, pick_device,
                                  pick_dtype, resolve_model)


def _prepare(pipe, device, cpu_offload: bool, attention_slicing: bool, vae_tiling: bool):
    """Move to the device, or offload to CPU between steps, and switch on memory savers."""
    if cpu_offload and device.type == "cuda":
        pipe.enable_model_cpu_offload()
    else:
        pipe.to(device)
    if attention_slicing and hasattr(pipe, "enable_attention_slicing"):
        pipe.enable_attention_slicing()
    if vae_tiling and hasattr(getattr(pipe, "vae", None), "enable_tiling"):
        pipe.vae.enable_tiling()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _accepted(pipe, **kwargs) -> dict:
    """Only the arguments this pipeline's __call__ takes (families differ: fps, frame_rate, prompt...)."""
    params = inspect.signature(pipe.__call__).parameters
    return {k: v for k, v in kwargs.items() if k in params and v is not None}


def _multiple(value: int, of: int) -> int:
    return max(of, round(value / of) * of)


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
        self.pipe = _prepare(pipe, self.device, cpu_offload, attention_slicing, vae_tiling)
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
        image = self.pipe(**_accepted(
            self.pipe, prompt=prompt, negative_prompt=self.negative_prompt or None,
            num_inference_steps=self.steps, guidance_scale=self.guidance,
            width=_multiple(width, self.multiple), height=_multiple(height, self.multiple),
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


class DiffusersImage2Video:
    """Animates the keyframe; shots longer than the model's clip are extended from the last frame."""

    name = "diffusers-i2v"
    version = "1"

    def __init__(self, model: str, pipeline: str = "auto", steps: int = 25, num_frames: int = 14, model_fps: int = 7,
                 width: int = 1024, height: int = 576, guidance: float | None = None, decode_chunk_size: int = 8,
                 motion_bucket_id: int = 127, noise_aug_strength: float = 0.02, device: str = "auto",
                 dtype: str = "auto", cpu_offload: bool = False, attention_slicing: bool = False,
                 vae_tiling: bool = False):
        import diffusers

        self.device = pick_device(device)
        loader = diffusers.DiffusionPipeline if pipeline == "auto" else getattr(diffusers, pipeline)
        pipe = load_pretrained(loader, model, "motion", dtype=pick_dtype(dtype, self.device))
        self.pipe = _prepare(pipe, self.device, cpu_offload, attention_slicing, vae_tiling)
        self.steps, self.num_frames, self.model_fps = steps, num_frames, model_fps
        self.size, self.guidance, self.decode_chunk_size = (width, height), guidance, decode_chunk_size
        self.motion_bucket_id, self.noise_aug_strength = motion_bucket_id, noise_aug_strength

    def animate(self, keyframe: Image.Image, request: MotionRequest) -> Iterator[np.ndarray]:
        native = self._native_frames(keyframe, request)
        for frame in retime(native, self.model_fps, request.fps, request.frames):
            yield np.asarray(Image.fromarray(frame).resize(request.size, Image.Resampling.LANCZOS))

    def _native_frames(self, keyframe: Image.Image, request: MotionRequest) -> list[np.ndarray]:
        """Enough frames at the model's own rate to cover the shot, chaining clips from the last frame."""
        wanted = math.ceil(request.frames / request.fps * self.model_fps) + 1
        image = keyframe.convert("RGB").resize(self.size, Image.Resampling.LANCZOS)
        frames: list[np.ndarray] = []
        for segment in range(math.ceil(wanted / max(1, self.num_frames - 1)) + 1):
            clip = self._generate(image, request, request.seed + segment)
            frames.extend(clip if not frames else clip[1:])  # each segment starts on the previous last frame
            image = Image.fromarray(clip[-1])
            if len(frames) >= wanted:
                break
        return frames

    def _generate(self, image: Image.Image, request: MotionRequest, seed: int) -> list[np.ndarray]:
        width, height = self.size
        output = self.pipe(**_accepted(
            self.pipe, image=image, prompt=request.motion or "", height=height, width=width,
            num_frames=self.num_frames, num_inference_steps=self.steps, guidance_scale=self.guidance,
            decode_chunk_size=self.decode_chunk_size, motion_bucket_id=self.motion_bucket_id,
            noise_aug_strength=self.noise_aug_strength, fps=self.model_fps, frame_rate=self.model_fps,
            generator=generator(self.device, seed), output_type="np")).frames[0]
        return [(np.clip(np.asarray(f), 0, 1) * 255).round().astype(np.uint8) if np.asarray(f).dtype != np.uint8
                else np.asarray(f) for f in output]


def retime(frames: list[np.ndarray], source_fps: float, target_fps: int, count: int) -> Iterator[np.ndarray]:
    """Exactly `count` frames at `target_fps`, blending neighbours where a frame falls between two."""
    last = len(frames) - 1
    for index in range(count):
        position = min(index / target_fps * source_fps, last)
        low = int(math.floor(position))
        high, weight = min(low + 1, last), position - low
        if weight < 1e-6:
            yield frames[low]
        else:
            yield (frames[low] * (1 - weight) + frames[high] * weight).round().astype(np.uint8)


class DiffusersX4Upscaler:
    """Stable Diffusion's x4 upscaler, frame by frame with one seed so the grain stays still."""

    name = "diffusers-x4"
    version = "1"

    def __init__(self, model: str, steps: int = 20, guidance: float = 0.0, noise_level: int = 20, prompt: str = "",
                 seed: int = 0, device: str = "auto", dtype: str = "auto", cpu_offload: bool = False,
                 attention_slicing: bool = False, vae_tiling: bool = True):
        from diffusers import StableDiffusionUpscalePipeline

        self.device = pick_device(device)
        pipe = load_pretrained(StableDiffusionUpscalePipeline, model, "upscale", dtype=pick_dtype(dtype, self.device))
        self.pipe = _prepare(pipe, self.device, cpu_offload, attention_slicing, vae_tiling)
        self.steps, self.guidance, self.noise_level, self.prompt, self.seed = steps, guidance, noise_level, prompt, seed

    def upscale(self, frame: np.ndarray, factor: int) -> np.ndarray:
        if factor == 1:
            return frame
        image = Image.fromarray(frame)
        big = self.pipe(prompt=self.prompt, image=image, num_inference_steps=self.steps, guidance_scale=self.guidance,
                        noise_level=self.noise_level, generator=generator(self.device, self.seed)).images[0]
        size = (image.width * factor, image.height * factor)
        return np.asarray(big.convert("RGB").resize(size, Image.Resampling.LANCZOS) if big.size != size else big.convert("RGB"))
