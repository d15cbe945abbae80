"""Clips from the diffusers image-to-video families (Stable Video Diffusion, LTX-Video, CogVideoX-I2V,
Wan I2V, HunyuanVideo-1.5 I2V): the keyframe animated at the model's own rate, shots longer than one
call chained from the last frame, then retimed to the film's fps. The model loads once, when the
backend is created; `get_backend` keeps one per process.

Each family's rules (`film_pipeline.models.motion_families`) are applied explicitly: the settings'
frame count and size are rounded to what the loaded checkpoint accepts, the clip's rate goes to the
argument the family takes (or the model's own rate is used), and what was rounded is in `facts`.
The shot's end keyframe conditions the last call where the family can (Wan `last_image`, LTX
conditioning frames); elsewhere the last frames cross-dissolve to it, and `facts` says which.
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from film_pipeline.backends import MotionRequest
from film_pipeline.backends.diffusers_common import prepare
from film_pipeline.models import generator, load_pretrained, pick_device, pick_dtype
from film_pipeline.models.motion_families import BLENDED, calls_for, describe, fit, rules_for


@dataclass(frozen=True)
class Plan:
    """The calls one shot takes: how many, how long each, and the rate the frames are retimed from."""

    wanted: int           # native frames the shot needs
    calls: int
    last_frames: int      # the last call's length (shorter where it ends on the end keyframe)
    total: int            # native frames made
    source_fps: float     # the rate `retime` reads the native frames at
    end_keyframe: str | None  # how the end keyframe is used: "last_image", "conditioning_frames", "blended"


class DiffusersImage2Video:
    """Animates the keyframe; shots longer than the model's clip are extended from the last frame.

    Settings left out (None) are the loaded checkpoint's own: its trained length, size, rate, guidance
    and steps (see `motion_families.FAMILIES`)."""

    name = "diffusers-i2v"
    version = "1"

    def __init__(self, model: str, pipeline: str = "auto", steps: int | None = None, num_frames: int | None = None,
                 model_fps: int | None = None, width: int | None = None, height: int | None = None,
                 guidance: float | None = None, decode_chunk_size: int = 8, motion_bucket_id: int = 127,
                 noise_aug_strength: float = 0.02, device: str = "auto", dtype: str = "auto",
                 cpu_offload: bool = False, attention_slicing: bool = False, vae_tiling: bool = False):
        import diffusers

        self.device = pick_device(device)
        loader = diffusers.DiffusionPipeline if pipeline == "auto" else getattr(diffusers, pipeline)
        pipe = load_pretrained(loader, model, "motion", dtype=pick_dtype(dtype, self.device))
        self.pipe = prepare(pipe, self.device, cpu_offload, attention_slicing, vae_tiling)
        self.rules = rules_for(self.pipe)
        self.family = self.rules.family
        size = None
        if width is not None or height is not None:
            size = (width or self.rules.native_size[0], height or self.rules.native_size[1])
        self.fit = fit(self.rules, num_frames, size, model_fps, steps, guidance)
        self.num_frames, self.model_fps, self.size = self.fit.frames, self.fit.model_fps, self.fit.size
        self.steps, self.guidance, self.decode_chunk_size = self.fit.steps, self.fit.guidance, decode_chunk_size
        self.motion_bucket_id, self.noise_aug_strength = motion_bucket_id, noise_aug_strength
        self._condition_pipe = None
        if self.family.guidance_argument == "guider" and guidance is not None:  # HunyuanVideo-1.5
            self.pipe.guider = self.pipe.guider.new(guidance_scale=self.guidance)
        if self.rules.two_images:
            self._repeat_single_image_tokens()

    # -- what the family was asked for -------------------------------------------------------------

    def plan(self, request: MotionRequest) -> Plan:
        """The calls for a shot. Without an end keyframe: enough native frames to cover the shot, the
        output read at the model's rate (later frames are unused). With one: the last call ends on it,
        is as short as the rules allow, and the native frames are read so the shot's last frame is the
        last native frame."""
        per_call = self.num_frames
        end = None
        if request.end_keyframe is not None:
            end = self.rules.first_last or BLENDED
        if end in (None, BLENDED):
            wanted = math.ceil(request.frames / request.fps * self.model_fps) + 1
            calls = calls_for(wanted, per_call)
            total = per_call + (calls - 1) * (per_call - 1)
            return Plan(wanted, calls, per_call, total, self.model_fps, end)
        wanted = max(2, math.ceil((request.frames - 1) / request.fps * self.model_fps) + 1)
        calls = calls_for(wanted, per_call)
        before = per_call + (calls - 2) * (per_call - 1) if calls > 1 else 0
        remaining = wanted - before + (1 if calls > 1 else 0)  # a chained call repeats the previous last frame
        step = self.rules.frame_step
        last = per_call if self.rules.fixed_frames else min(per_call, round_up_frames(remaining, step))
        total = before + last - (1 if calls > 1 else 0)
        source_fps = (total - 1) * request.fps / (request.frames - 1) if request.frames > 1 else self.model_fps
        return Plan(wanted, calls, last, total, source_fps, end)

    def facts(self, request: MotionRequest) -> dict:
        """The family, what one call really makes, how the settings were rounded, and the shot's calls."""
        plan, fitted = self.plan(request), self.fit
        facts = {**describe(self.rules), "pipeline": type(self.pipe).__name__, "native_frames": self.num_frames,
                 "native_size": f"{self.size[0]}x{self.size[1]}", "model_fps": self.model_fps, "steps": self.steps,
                 "guidance": self.guidance, "calls": plan.calls, "native_frames_made": plan.total}
        if fitted.frames_rounded_from is not None:
            facts["frames_rounded_from"] = fitted.frames_rounded_from
        if fitted.size_rounded_from is not None:
            facts["size_rounded_from"] = f"{fitted.size_rounded_from[0]}x{fitted.size_rounded_from[1]}"
        if fitted.model_fps_from is not None:
            facts["model_fps_from"] = fitted.model_fps_from
        if fitted.guidance_unused is not None:
            facts["guidance_unused"] = fitted.guidance_unused
        if getattr(request, "continues", False):
            facts["continues"] = "first frame is the previous shot's last"
        if plan.end_keyframe:
            facts["end_keyframe"] = plan.end_keyframe
            if plan.end_keyframe == BLENDED:
                facts["end_blend_frames"] = blend_length(request)
            else:
                facts["last_call_frames"] = plan.last_frames
        return facts

    # -- rendering ---------------------------------------------------------------------------------

    def animate(self, keyframe: Image.Image, request: MotionRequest) -> Iterator[np.ndarray]:
        plan = self.plan(request)
        native = self._native_frames(keyframe, request, plan)
        out = retime(native, plan.source_fps, request.fps, request.frames)
        if plan.end_keyframe == BLENDED:
            out = dissolve_to(out, request)
        for index, frame in enumerate(out):
            if index == 0 and getattr(request, "continues", False):
                # `continues`: the keyframe is the previous shot's last frame, and the clip starts on it exactly
                # (a generated first frame is only close to its conditioning image)
                yield np.asarray(keyframe.convert("RGB").resize(request.size, Image.Resampling.LANCZOS))
                continue
            yield np.asarray(Image.fromarray(frame).resize(request.size, Image.Resampling.LANCZOS))

    def _native_frames(self, keyframe: Image.Image, request: MotionRequest, plan: Plan) -> list[np.ndarray]:
        """Enough frames at the model's own rate to cover the shot, chaining clips from the last frame."""
        image = keyframe.convert("RGB").resize(self.size, Image.Resampling.LANCZOS)
        end = None
        if plan.end_keyframe not in (None, BLENDED):
            end = request.end_keyframe.convert("RGB").resize(self.size, Image.Resampling.LANCZOS)
        frames: list[np.ndarray] = []
        for segment in range(plan.calls):
            extra = {}
            if end is not None and segment == plan.calls - 1:
                extra = {"end": end, "frames": plan.last_frames}
            clip = self._generate(image, request, request.seed + segment, **extra)
            frames.extend(clip if not frames else clip[1:])  # each segment starts on the previous last frame
            image = Image.fromarray(clip[-1])
        return frames

    def _generate(self, image: Image.Image, request: MotionRequest, seed: int, end: Image.Image | None = None,
                  frames: int | None = None) -> list[np.ndarray]:
        """One call of the family's pipeline, with exactly the arguments its rules give it."""
        family, frames = self.family, frames or self.num_frames
        width, height = self.size
        pipe, kwargs = self.pipe, {"image": image, "num_frames": frames, "num_inference_steps": self.steps,
                                   "generator": generator(self.device, seed), "output_type": "np"}
        if family.name != "stable-video-diffusion":
            kwargs["prompt"] = request.motion or ""
        if family.size_argument:
            kwargs.update(height=height, width=width)
        if family.fps_argument:
            kwargs[family.fps_argument] = self.model_fps
        if family.guidance_argument not in (None, "guider"):
            kwargs[family.guidance_argument] = self.guidance
        if family.name == "stable-video-diffusion":
            kwargs.update(decode_chunk_size=self.decode_chunk_size, motion_bucket_id=self.motion_bucket_id,
                          noise_aug_strength=self.noise_aug_strength)
        if family.name == "ltx-video" and getattr(pipe.vae.config, "timestep_conditioning", False):
            kwargs.update(decode_timestep=0.05, decode_noise_scale=0.025)  # Lightricks' values for 0.9.1+
        if end is not None and self.rules.first_last == "last_image":
            kwargs["last_image"] = end
        elif end is not None and self.rules.first_last == "conditioning_frames":
            pipe = self._conditioning_pipeline()
            kwargs.update(image=[image, end], frame_index=[0, frames - 1])
        output = pipe(**kwargs).frames[0]
        clip = [(np.clip(np.asarray(f), 0, 1) * 255).round().astype(np.uint8) if np.asarray(f).dtype != np.uint8
                else np.asarray(f) for f in output]
        shape = (len(clip), clip[0].shape[1], clip[0].shape[0])
        if shape != (frames, width, height):
            raise RuntimeError(f"{type(pipe).__name__} made {shape[0]} frames of {shape[1]}x{shape[2]}; the "
                               f"{family.name} rules asked for {frames} of {width}x{height}")
        return clip

    def _conditioning_pipeline(self):
        """LTX-Video's first-and-last-frame pipeline, on the very components already loaded. It passes its
        own (linear-quadratic) timesteps, so a scheduler with dynamic shifting (the 0.9.0/0.9.1 configs,
        which want a `mu` the condition pipeline never computes) gets a copy without it."""
        if self._condition_pipe is None:
            import diffusers

            scheduler = self.pipe.scheduler
            if getattr(scheduler.config, "use_dynamic_shifting", False):
                scheduler = type(scheduler).from_config(scheduler.config, use_dynamic_shifting=False)
            else:
                scheduler = type(scheduler).from_config(scheduler.config)
            self._condition_pipe = diffusers.LTXConditionPipeline(**{**self.pipe.components, "scheduler": scheduler})
            self._condition_pipe.set_progress_bar_config(disable=True)
        return self._condition_pipe

    def _repeat_single_image_tokens(self) -> None:
        """A Wan FLF2V transformer embeds two images' CLIP tokens on every call; a call without an end
        keyframe (a shot's earlier calls, or a shot without one) gives it the start image twice."""
        encode = self.pipe.encode_image

        def encode_image(image, device=None):
            return encode(image if isinstance(image, list) else [image, image], device)

        self.pipe.encode_image = encode_image


def round_up_frames(count: int, step: int) -> int:
    """The smallest k * step + 1 >= count (k >= 1)."""
    if step == 1:
        return max(2, count)
    return max(1, math.ceil((count - 1) / step)) * step + 1


def blend_length(request: MotionRequest) -> int:
    """How many of the shot's last frames dissolve to the end keyframe: about a second, at most all but the first."""
    return max(0, min(request.frames - 1, request.fps))


def dissolve_to(frames: Iterator[np.ndarray], request: MotionRequest) -> Iterator[np.ndarray]:
    """The blended fallback: the last `blend_length` frames cross-dissolve to the end keyframe, which is
    the shot's last frame exactly."""
    frames, length = list(frames), blend_length(request)
    if not frames or not length:
        return iter(frames)
    height, width = frames[0].shape[:2]
    end = np.asarray(request.end_keyframe.convert("RGB").resize((width, height), Image.Resampling.LANCZOS),
                     dtype=np.float32)
    start = len(frames) - length
    for index in range(start, len(frames)):
        weight = (index - start + 1) / length
        frames[index] = (frames[index] * (1 - weight) + end * weight).round().astype(np.uint8)
    return iter(frames)


def retime(frames: list[np.ndarray], source_fps: float, target_fps: int, count: int) -> Iterator[np.ndarray]:
    """Exactly `count` frames at `target_fps`, blending neighbours where a frame falls between two."""
    last = len(frames) - 1
    for index in range(count):
        position = min(index / target_fps * source_fps, last)
        low = int(math.floor(position))
        high, weight = min(low + 1, last), position - low
        if weight < 1e-6:
            yield frames[low]
        elif weight > 1 - 1e-6:  # a position a rounding error short of a frame is that frame
            yield frames[high]
        else:
            yield (frames[low] * (1 - weight) + frames[high] * weight).round().astype(np.uint8)
