"""A prepared check for a CUDA machine: every model family's tiny replica rendered through
`film render` on the accelerator, where each model sits and in what dtype, and `film render` per
shot against a bare loop over the same loaded pipelines.

    .venv/bin/python bench/gpu.py                       # CUDA, bf16, every family (well under 5 min)
    .venv/bin/python bench/gpu.py --device cpu --quick  # the same code on a CPU (the tests run this)
    .venv/bin/python bench/gpu.py --json out.json

Each render pairs a keyframe family with a motion family (five renders cover all of them), on a
film of --shots shots with the tiny profile and nothing but a `models:` override, in a fresh
FILM_HOME. After each render it asserts that every module of the two pipelines sits on the device
asked for in the dtype asked for (bf16 on CUDA, fp32 on the CPU; a VAE a pipeline keeps in fp32 on
purpose, as SDXL's does, is listed, not failed), then re-renders the shots' storyboards and clips
(`--force`) and times them against `paint` + `animate` called in a plain loop on the very
pipelines the render loaded. The goal on CUDA: film render / bare loop at most 1.10 per shot.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PAIRS = (  # (keyframe replica, motion replica, motion pipeline class)
    ("tiny:sd15", "tiny:svd", "StableVideoDiffusionPipeline"),
    ("tiny:sdxl", "tiny:ltx-video", "LTXImageToVideoPipeline"),
    ("tiny:sd3", "tiny:cogvideox-i2v", "CogVideoXImageToVideoPipeline"),
    ("tiny:flux", "tiny:wan-i2v", "WanImageToVideoPipeline"),
    ("tiny:z-image", "tiny:hunyuanvideo15-i2v", "HunyuanVideo15ImageToVideoPipeline"),
)
GOAL = 1.10


def film_yaml(shots: int, keyframe: str, motion: str, pipeline: str, device: str, dtype: str) -> str:
    lines = ["title: GPU check", "profile: tiny", "fps: 8", "resolution: [64, 40]", "upscale: 1", "seed: 5",
             "models:",
             f"  keyframe: {{model: '{keyframe}', device: {device}, dtype: {dtype}}}",
             f"  motion: {{model: '{motion}', pipeline: {pipeline}, device: {device}, dtype: {dtype}}}",
             "shots:"]
    for index in range(shots):
        lines += [f"  - {{id: s{index}, prompt: 'a lighthouse at dusk, view {index}', duration: 1.0}}"]
    return "\n".join(lines) + "\n"


def placements(backend) -> dict[str, tuple[str, str]]:
    """{component: (device, dtype)} of a loaded diffusers pipeline's modules."""
    import torch

    found = {}
    for name, part in backend.pipe.components.items():
        if isinstance(part, torch.nn.Module):
            parameter = next(part.parameters(), None)
            if parameter is not None:
                found[name] = (parameter.device.type, str(parameter.dtype).removeprefix("torch."))
    return found


def check_placement(label: str, found: dict, device: str, dtype: str) -> list[str]:
    """What sits elsewhere than asked (a VAE kept in fp32 on purpose is a note, not a failure)."""
    problems = []
    for name, (where, kind) in found.items():
        if where != device:
            problems.append(f"{label}.{name} is on {where}, not {device}")
        elif kind != dtype and not (name == "vae" and kind == "float32"):
            problems.append(f"{label}.{name} is {kind}, not {dtype}")
    return problems


def one_pair(root: Path, shots: int, pair: tuple, device: str, dtype: str) -> dict:
    from film_pipeline.backends import MotionRequest, backend_for
    from film_pipeline.film import load_film
    from film_pipeline.render import render_film
    from film_pipeline.specs import motion_spec, visual_spec

    keyframe, motion, pipeline = pair
    film_dir = root / "films" / keyframe.split(":")[1]
    film_dir.mkdir(parents=True)
    (film_dir / "film.yaml").write_text(film_yaml(shots, keyframe, motion, pipeline, device, dtype))
    started = time.perf_counter()
    first = render_film(film_dir)
    first_seconds = time.perf_counter() - started
    assert not first.failures, first.failures
    film = load_film(film_dir)
    visual = [visual_spec(film, s, film.profile) for s in film.shots]
    moves = [motion_spec(film, s, film.profile) for s in film.shots]
    painter, animator = backend_for("keyframe", visual[0]["backend"]), backend_for("motion", moves[0]["backend"])
    found = {"keyframe": placements(painter), "motion": placements(animator)}
    problems = check_placement("keyframe", found["keyframe"], device, dtype) + \
        check_placement("motion", found["motion"], device, dtype)
    # the steps again (the models are loaded), twice, the faster counted: the shot runs' wall time,
    # without the film's run
    timings = []
    for _ in range(2):
        shot_runs = []
        started = time.perf_counter()
        render_film(film_dir, force=["storyboard", "clip"], on_run=lambda label, _: shot_runs.append(
            (label, time.perf_counter())))
        timings.append(max(t for label, t in shot_runs if label.startswith("shot")) - started)
    shots_done = min(timings)
    # the same work in a plain loop on the same pipelines
    from film_pipeline.backends import KeyframeRequest

    started = time.perf_counter()
    for spec, move in zip(visual, moves):
        image = painter.paint(KeyframeRequest(spec["prompt"], spec["style"], (), spec["seed"], tuple(spec["size"])))
        frames = list(animator.animate(image, MotionRequest(move["camera"], move["motion"], move["frames"], move["fps"],
                                                            tuple(move["size"]), spec["prompt"], spec["seed"])))
        assert len(frames) == move["frames"]
    bare = time.perf_counter() - started
    return {"keyframe": keyframe, "motion": motion, "first_render_s": round(first_seconds, 2),
            "film_render_per_shot_s": round(shots_done / shots, 3), "bare_loop_per_shot_s": round(bare / shots, 3),
            "ratio": round(shots_done / bare, 3), "placements": found, "problems": problems}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--shots", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one pair (SD 1.5 + SVD) and one shot")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: run with --device cpu, or on a machine with a GPU", file=sys.stderr)
        return 2
    dtype = "bfloat16" if args.device == "cuda" else "float32"
    pairs, shots = (PAIRS[:1], 1) if args.quick else (PAIRS, args.shots)
    with tempfile.TemporaryDirectory(prefix="film-gpu-") as root:
        os.environ["FILM_HOME"] = root
        os.environ.setdefault("FILM_MODEL_CACHE", str(Path(root) / "models"))
        started = time.perf_counter()
        rows = [one_pair(Path(root), shots, pair, args.device, dtype) for pair in pairs]
        total = time.perf_counter() - started
    print(f"device {args.device} ({torch.cuda.get_device_name(0) if args.device == 'cuda' else 'CPU'}), {dtype}, "
          f"{shots} shot(s) per film, {total:.0f} s in all\n")
    print("| keyframe | motion | first render (s) | film render / shot (s) | bare loop / shot (s) | ratio | placement |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        placed = "ok" if not row["problems"] else "; ".join(row["problems"])
        print(f"| {row['keyframe']} | {row['motion']} | {row['first_render_s']} | {row['film_render_per_shot_s']} | "
              f"{row['bare_loop_per_shot_s']} | {row['ratio']} | {placed} |")
    if args.json:
        args.json.write_text(json.dumps({"device": args.device, "dtype": dtype, "seconds": total, "rows": rows}, indent=1))
    failed = [row for row in rows if row["problems"]]
    if args.device == "cuda":
        failed += [row for row in rows if row["ratio"] > GOAL]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
