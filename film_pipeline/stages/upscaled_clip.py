"""upscaled_clip: the clip at delivery resolution, frame by frame (or batch by batch) through the upscaler.

Encoded with the cut's own x264 settings (media.MASTER_CRF), so the cut can stream-copy it.
"""

import itertools
from pathlib import Path

from film_pipeline.media import MASTER_CRF, read_video, write_video
from film_pipeline.stages import Backends, Rendered, device_of, model_id


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
    count = write_video(path, upscaled, clip_info["fps"], size, crf=MASTER_CRF)
    return {"video": path}, {"backend": backend.name, "model": model_id(spec["backend"]),
                             "device": device_of(backend), "factor": factor, "frames": count, "fps": clip_info["fps"],
                             "expected_frames": clip_info.get("expected_frames", clip_info["frames"]),
                             "width": size[0], "height": size[1], "keyframe": clip_info["keyframe"],
                             "seed": clip_info["seed"]}
