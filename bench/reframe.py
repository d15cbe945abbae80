"""The preview's upscaled clips two ways: every frame of the camera move through Real-ESRGAN (the
old path), against the keyframe upscaled once and the move drawn again at the delivery size (the
`reframe` path upscaled_clip takes for camera moves). Seconds per shot and the PSNR of the new
frames against the old, for each shot of the demo film.

    .venv/bin/python bench/reframe.py [--shots dusk,storm] [--out bench/REFRAME.md]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def compared(shot: str, old: list, new: list, old_seconds: float, new_seconds: float) -> tuple:
    """One shot's row: (shot, frames, old seconds, new seconds, PSNR min, PSNR mean), printed as it comes."""
    scores = [psnr(a, b) for a, b in zip(old, new)]
    print(f"{shot}: {len(new)} frames, {old_seconds:.1f}s -> {new_seconds:.1f}s, "
          f"PSNR min {min(scores):.1f} dB, mean {np.mean(scores):.1f} dB", flush=True)
    return shot, len(new), old_seconds, new_seconds, min(scores), float(np.mean(scores))


def psnr_table(rows: list[tuple], old: str, new: str) -> list[str]:
    """The rows as a Markdown table with a total line, printed."""
    table = [f"| shot | frames | {old} | {new} | PSNR min (dB) | PSNR mean (dB) |", "|---|---|---|---|---|---|"]
    table += [f"| {s} | {n} | {a:.1f} | {b:.1f} | {lo:.1f} | {mean:.1f} |" for s, n, a, b, lo, mean in rows]
    table.append(f"| all | {sum(r[1] for r in rows)} | {sum(r[2] for r in rows):.1f} | {sum(r[3] for r in rows):.1f} | "
                 f"{min(r[4] for r in rows):.1f} | {np.mean([r[5] for r in rows]):.1f} |")
    print("\n".join(table))
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", default="", help="shot ids (default: every shot of the demo)")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
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
    painter, camera, upscaler = ProceduralKeyframe(), CameraMove(), RealEsrganUpscaler()
    factor, rows = film.upscale, []
    wanted = set(args.shots.split(",")) if args.shots else None
    for shot in film.shots:
        if wanted and shot.id not in wanted:
            continue
        looks = tuple(CharacterLook(c, film.characters[c].description, film.characters[c].seed) for c in shot.characters)
        keyframe = painter.paint(KeyframeRequest(shot.prompt, film.style, looks, shot.seed, keyframe_size(film)))
        request = MotionRequest(shot.camera, shot.motion, shot_frames(shot.duration, film.fps), film.fps,
                                film.resolution, shot.id, shot.seed)
        started = time.perf_counter()
        old = [upscaler.upscale(frame, factor) for frame in camera.animate(keyframe, request)]
        old_seconds = time.perf_counter() - started
        started = time.perf_counter()
        big = Image.fromarray(upscaler.upscale(np.asarray(keyframe), factor))
        from dataclasses import replace

        new = list(camera.animate(big, replace(request, scale=factor)))
        new_seconds = time.perf_counter() - started
        rows.append(compared(shot.id, old, new, old_seconds, new_seconds))
    table = psnr_table(rows, "every frame upscaled (s)", "reframed (s)")
    if args.out:
        args.out.write_text("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
