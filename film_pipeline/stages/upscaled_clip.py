"""upscaled_clip: the clip at delivery resolution, frame by frame through the upscaler.

Encoded with the cut's own x264 settings (media.MASTER_CRF), so the cut can stream-copy it.
"""

import itertools
from pathlib import Path

from film_pipeline.media import MASTER_CRF, read_video, write_video
from film_pipeline.stages import Backends, Rendered, device_of, model_id


def render(spec: dict, clip_info: dict, source: Path, backends: Backends, workdir: Path) -> Rendered:
    """`clip_info` is the clip's facts (fps, frames, keyframe, seed); `source` its video."""
    backend = backends("upscale", spec["backend"])
    factor = spec["factor"]
    frames = read_video(source)
    first = next(frames)
    size = (first.shape[1] * factor, first.shape[0] * factor)
    path = workdir / "upscaled.mp4"
    upscaled = (backend.upscale(f, factor) for f in itertools.chain([first], frames))
    count = write_video(path, upscaled, clip_info["fps"], size, crf=MASTER_CRF)
    return {"video": path}, {"backend": backend.name, "model": model_id(spec["backend"]),
                             "device": device_of(backend), "factor": factor, "frames": count, "fps": clip_info["fps"],
                             "expected_frames": clip_info.get("expected_frames", clip_info["frames"]),
                             "width": size[0], "height": size[1], "keyframe": clip_info["keyframe"],
                             "seed": clip_info["seed"]}
