"""Clips from any diffusers image-to-video pipeline (Stable Video Diffusion, LTX-Video,
CogVideoX-I2V, Wan I2V, ...): the keyframe animated at the model's own rate, shots longer than
one call chained from the last frame, then retimed to the film's fps. The model loads once, when
the backend is created; `get_backend` keeps one per process.
"""

import math
from collections.abc import Iterator

import numpy as np
from PIL import Image

from film_pipeline.backends import MotionRequest
from film_pipeline.backends.diffusers_common import accepted, prepare
from film_pipeline.models import generator, load_pretrained, pick_device, pick_dtype


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
        self.pipe = prepare(pipe, self.device, cpu_offload, attention_slicing, vae_tiling)
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
        output = self.pipe(**accepted(
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
