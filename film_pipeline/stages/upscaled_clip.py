"""upscaled_clip: the clip at delivery resolution, frame by frame (or batch by batch) through the upscaler.

A camera move over a still keyframe (the preview's clips) is drawn again instead (`reframe`): its
keyframes (and the frame it continues from) are upscaled once, and the same move, weather and
caption drawn at the delivery size. Encoded as the cut is (media.write_master: its x264 settings,
BT.709 colours), so the cut can stream-copy it.
"""

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from film_pipeline.backends import MotionRequest
from film_pipeline.media import read_video, write_master
from film_pipeline.stages import Backends, Rendered, device_of, model_id
from film_pipeline.stages.clip import last_frame


@dataclass(frozen=True)
class Pictures:
    """What a camera move is drawn from: the picked keyframe, the end keyframe (`end_prompt`), and
    the clip it continues from (`continues`), as local files; and the shot's caption."""

    keyframe: Path
    caption: str
    end: Path | None = None
    previous_clip: Path | None = None


def _upscaled(backend, frames, factor: int):
    """Frame by frame, or in batches where the backend takes them (`upscale_batch`, a GPU's way)."""
    size = getattr(backend, "batch", 1)
    if not hasattr(backend, "upscale_batch") or size <= 1:
        yield from (backend.upscale(f, factor) for f in frames)
        return
    while batch := list(itertools.islice(frames, size)):
        yield from backend.upscale_batch(batch, factor)


def render(spec: dict, clip_info: dict, source: Path, backends: Backends, workdir: Path) -> Rendered:
    """`clip_info` is the clip's facts (fps, frames, keyframe, seed); `source` its video."""
    backend = backends("upscale", spec["backend"])
    factor = spec["factor"]
    frames = read_video(source)
    first = next(frames)
    size = (first.shape[1] * factor, first.shape[0] * factor)
    path = workdir / "upscaled.mp4"
    upscaled = _upscaled(backend, itertools.chain([first], frames), factor)
    count = write_master(path, upscaled, clip_info["fps"], size)
    return {"video": path}, {"backend": backend.name, "model": model_id(spec["backend"]),
                             "device": device_of(backend), "factor": factor, "frames": count, "fps": clip_info["fps"],
                             "expected_frames": clip_info.get("expected_frames", clip_info["frames"]),
                             "width": size[0], "height": size[1], "keyframe": clip_info["keyframe"],
                             "seed": clip_info["seed"]}


def reframe(spec: dict, clip_info: dict, motion: dict, pictures: Pictures, backends: Backends,
            workdir: Path) -> Rendered:
    """The clip's camera move drawn again at the delivery size over its upscaled keyframes.
    `motion` is the motion spec the clip was made from; the chosen clip take and its seed are the clip's."""
    upscaler, camera, factor = backends("upscale", spec["backend"]), backends("motion", spec["reframe"]), spec["factor"]

    def bigger(picture: Image.Image) -> Image.Image:
        return Image.fromarray(upscaler.upscale(np.asarray(picture.convert("RGB")), factor))

    start = bigger(last_frame(pictures.previous_clip) if pictures.previous_clip else Image.open(pictures.keyframe))
    take = clip_info.get("clip_take", 1)
    request = MotionRequest(motion["camera"], motion["motion"], motion["frames"], motion["fps"], tuple(motion["size"]),
                            pictures.caption, clip_info["seed"] + take - 1, take,
                            end_keyframe=bigger(Image.open(pictures.end)) if pictures.end else None,
                            continues=pictures.previous_clip is not None, scale=factor)
    size = (motion["size"][0] * factor, motion["size"][1] * factor)
    path = workdir / "upscaled.mp4"
    count = write_master(path, camera.animate(start, request), motion["fps"], size)
    return {"video": path}, {"backend": upscaler.name, "model": model_id(spec["backend"]), "method": "reframed",
                             "device": device_of(upscaler), "factor": factor, "frames": count, "fps": motion["fps"],
                             "expected_frames": clip_info.get("expected_frames", clip_info["frames"]),
                             "width": size[0], "height": size[1], "keyframe": clip_info["keyframe"],
                             "seed": clip_info["seed"]}
