"""The camera move's two ways of sampling its window, on every shot of the demo at delivery size
(the keyframe upscaled by Real-ESRGAN, as the preview profile does):
camera-move version 2 (an affine transform, bicubic) against version 3 (a separable bicubic resize
of the same window). Seconds per shot for the frames alone (no encoding) and the PSNR of version 3's
frames against version 2's.

    .venv/bin/python bench/camera_sampling.py [--shots dusk,storm]
"""

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.reframe import compared, psnr_table  # noqa: E402


def version_2_camera():
    """CameraMove as it sampled its window up to version 2, to compare against."""
    from PIL import Image

    from film_pipeline.backends.camera import CameraMove

    class AffineCamera(CameraMove):
        @staticmethod
        def _crop(keyframe, u, v, zoom, width, height):
            scale = min(keyframe.width / width, keyframe.height / height) / 1.12 / zoom
            win_w, win_h = width * scale, height * scale
            x0, y0 = u * (keyframe.width - win_w), v * (keyframe.height - win_h)
            return keyframe.transform((width, height), Image.Transform.AFFINE, (scale, 0, x0, 0, scale, y0),
                                      resample=Image.Resampling.BICUBIC).convert("RGB")
    return AffineCamera()


def timed_frames(camera, keyframe, request) -> tuple[list, float]:
    started = time.perf_counter()
    frames = list(camera.animate(keyframe, request))
    return frames, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", default="", help="shot ids (default: every shot of the demo)")
    args = parser.parse_args()
    from PIL import Image

    from film_pipeline.backends import CharacterLook, KeyframeRequest, MotionRequest
    from film_pipeline.backends.camera import CameraMove
    from film_pipeline.backends.keyframe import ProceduralKeyframe
    from film_pipeline.backends.realesrgan import RealEsrganUpscaler
    from film_pipeline.film import load_film
    from film_pipeline.specs import keyframe_size
    from film_pipeline.timeline import shot_frames

    film = load_film(REPO / "data" / "films" / "demo")
    painter, old, new, enlarge = ProceduralKeyframe(), version_2_camera(), CameraMove(), RealEsrganUpscaler()
    wanted = set(args.shots.split(",")) if args.shots else None
    rows = []
    for shot in film.shots:
        if wanted and shot.id not in wanted:
            continue
        looks = tuple(CharacterLook(c, film.characters[c].description, film.characters[c].seed) for c in shot.characters)
        keyframe = painter.paint(KeyframeRequest(shot.prompt, film.style, looks, shot.seed, keyframe_size(film)))
        big = Image.fromarray(enlarge.upscale(np.asarray(keyframe), film.upscale))
        request = MotionRequest(shot.camera, shot.motion, shot_frames(shot.duration, film.fps), film.fps,
                                film.resolution, shot.id, shot.seed, scale=film.upscale)
        before, old_seconds = timed_frames(old, big, request)
        after, new_seconds = timed_frames(new, big, request)
        rows.append(compared(shot.id, before, after, old_seconds, new_seconds))
    psnr_table(rows, "version 2, affine (s)", "version 3, resize (s)")


if __name__ == "__main__":
    main()
