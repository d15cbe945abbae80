"""A 16-shot film rendered in one process and through 1, 2 and 4 Celery workers on this machine.

    .venv/bin/python bench/workers.py [--shots 16] [--workers 1,2,4] [--runs 1] [--out bench/WORKERS.md]

Each render is a first render in a fresh FILM_HOME (the preview profile, 64x36 frames upscaled
x2). For the worker runs `film workers up K` starts Redis and K workers first (not timed); the
render's wall time is what `film render` takes. From the workers' own logs it also reads how
many Celery tasks ran and how long each took inside the worker, which splits the difference to
the in-process render into work the workers do per task and time nobody is busy (the executor
polls its tasks once a second). Needs redis-server (Debian's package).
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from films import write_film  # noqa: E402
from results import timed  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FILM = str(Path(sys.executable).with_name("film"))
TASK_DONE = re.compile(r"Task execute_plan\[[0-9a-f-]+\] succeeded in ([0-9.]+)s")


def env_for(home: Path) -> dict:
    env = {**os.environ, "FILM_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    env.pop("FILM_BROKER", None)
    return env


def render_once(root: Path, shots: int, workers: int) -> dict:
    """One first render: in this process (workers=0) or through `workers` Celery workers."""
    home = root / f"w{workers}-{time.monotonic_ns()}"
    film_dir = home / "films" / "gen"
    write_film(film_dir, shots)
    env = env_for(home)
    if workers:
        up = subprocess.run([FILM, "workers", "up", str(workers)], env=env, capture_output=True, text=True, timeout=300)
        if up.returncode:
            raise RuntimeError(up.stderr)
        exports = subprocess.run([FILM, "workers", "env"], env=env, capture_output=True, text=True).stdout
        env.update(line.removeprefix("export ").split("=", 1) for line in exports.splitlines())
    try:
        seconds, _ = timed([FILM, "render", "--no-progress", str(film_dir)], env)
    finally:
        if workers:
            subprocess.run([FILM, "workers", "down"], env=env, capture_output=True, timeout=180)
    tasks = [float(m) for log in (home / "workers").glob("film-worker-*.log") for m in TASK_DONE.findall(log.read_text())]
    return {"workers": workers, "seconds": seconds, "tasks": len(tasks), "task_seconds": sum(tasks),
            "task_median": statistics.median(tasks) if tasks else 0.0, "step_seconds": step_seconds(home)}


def step_seconds(home: Path) -> float:
    """The seconds the artifacts' own manifests record: the rendering itself, wherever it ran."""
    return sum(json.loads(p.read_text())["info"]["seconds"] for p in (home / "store").rglob("*.json")
               if p.parent.name != "_shared" and "info" in json.loads(p.read_text()))


def report(rows: list[dict], shots: int, runs: int) -> str:
    base = next(r for r in rows if r["workers"] == 0)
    lines = [
        f"# Celery workers: a {shots}-shot film on one machine", "",
        f"{date.today()}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; `.venv/bin/python bench/workers.py --shots {shots} --runs {runs}`; "
        f"first renders, median of {runs}.", "",
        "| render | wall (s) | vs one process | Celery tasks | task time in workers (s) | median task (s) "
        "| rendering itself (s) | wall − task time ÷ workers (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        name = "one process (no broker)" if row["workers"] == 0 else f"{row['workers']} worker(s)"
        idle = row["seconds"] - row["task_seconds"] / row["workers"] if row["workers"] else 0.0
        lines.append(f"| {name} | {row['seconds']:.1f} | {row['seconds'] / base['seconds']:.2f}× | {row['tasks'] or '–'} "
                     f"| {row['task_seconds']:.1f} | {row['task_median']:.2f} | {row['step_seconds']:.1f} "
                     f"| {idle:.1f} |" if row["workers"] else
                     f"| {name} | {row['seconds']:.1f} | 1.00× | – | – | – | {row['step_seconds']:.1f} | – |")
    lines += ["", "\"Task time in workers\" is what the workers' logs say their tasks took; \"rendering itself\" is "
                  "what the artifacts' manifests say the steps' own work took; the last column is how long an "
                  "average worker stood idle, waiting for a task."]
    one = next((r for r in rows if r["workers"] == 1), None)
    if one and one["tasks"]:
        per_task = (one["seconds"] - base["seconds"]) / one["tasks"]
        in_worker = (one["task_seconds"] - one["step_seconds"]) / one["tasks"]
        idle = (one["seconds"] - one["task_seconds"]) / one["tasks"]
        lines += ["", f"Per-task overhead with one worker: ({one['seconds']:.1f} − {base['seconds']:.1f}) s ÷ "
                      f"{one['tasks']} tasks = **{per_task:.2f} s per task** more than one process, which has "
                      f"per-step bookkeeping of its own ({base['seconds']:.1f} s for {base['step_seconds']:.1f} s of "
                      f"rendering). Per task, the worker spends about {in_worker:.2f} s around the step (rebuilding "
                      f"the job and its execution plan, writing the step's events) and stands idle about {idle:.2f} s, "
                      "mostly waiting for the executor, which looks at its tasks once a second: each step of a "
                      "chain waits up to a second after the one before."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shots", type=int, default=16)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    counts = [0] + [int(n) for n in args.workers.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        for count in counts:
            samples = []
            for run in range(args.runs):
                print(f"{count or 'no'} workers, run {run + 1}/{args.runs} ...", flush=True)
                samples.append(render_once(Path(tmp), args.shots, count))
            middle = sorted(samples, key=lambda s: s["seconds"])[len(samples) // 2]
            rows.append(middle)
            print(f"  {middle}", flush=True)
    text = report(rows, args.shots, args.runs)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
