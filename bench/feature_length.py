"""A feature-length film, measured apart from `make bench` because its first render takes an hour
on 2 cores; bench/results.py puts the figures it saved into bench/RESULTS.md.

    .venv/bin/python bench/feature_length.py [--shots 2000] [--home DIR] [--start-shots 10000]
    .venv/bin/python bench/feature_length.py --again --home DIR   # the same film, the code now

At `--shots` (a generated film, as bench/films.py writes them): the first render; then `film plan`,
`film status` and a no-op `film render`; a prompt edit (the median of `--runs`); the cut's exactness past Dagster's
100-partition limit; Dagster's partitions page in headless Chromium. At `--start-shots`: how long
`film plan` takes on a film never rendered, and how long `film render` takes to start its first
step. Beside them, an 8-shot film's plan, status, no-op and edit, measured in the same session
(`reference`), so the goals that compare the two sizes compare figures of one machine at one time.
The rendered home is kept (`--home`), so `--again` measures everything but the first render
again after a change to the code. Writes bench/feature_length.json.
"""

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import goals  # noqa: E402
from bench.films import edit_prompt, shot_id, write_film  # noqa: E402
from bench.results import FILM, home_env, median, newest_cut_seconds, start_seconds, this_machine, timed  # noqa: E402

SAVED = REPO / "bench" / "feature_length.json"


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()


def queries(home: Path, film_dir: Path, runs: int) -> dict:
    env, row = home_env(home), {}
    for step, args in (("plan", ["plan"]), ("status", ["status"]), ("noop", ["render"])):
        samples = [timed(FILM + args + [str(film_dir)], env) for _ in range(runs)]
        row[step], row[f"{step}_mb"] = median(s for s, _ in samples), max(m for _, m in samples)
    return row


def edits(home: Path, film_dir: Path, shots: int, mark: str, runs: int) -> dict:
    """`runs` edits of the middle shot's prompt, each rendered: their median (one edit's time moved
    by half from one sample to the next on this machine) and every sample."""
    samples = []
    for number in range(runs):
        edit_prompt(film_dir / "film.yaml", shots // 2, f", seen again {mark}-{number}")
        samples.append(timed(FILM + ["render", str(film_dir)], home_env(home)))
    return {"edit": median(s for s, _ in samples), "edit_samples": [round(s, 2) for s, _ in samples],
            "edit_mb": max(m for _, m in samples), "cut": newest_cut_seconds(home, "gen")}


def exactness(home: Path, film_dir: Path) -> dict:
    out = subprocess.run([sys.executable, "bench/exactness.py", str(film_dir)], env=home_env(home), cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(shots: int, home: Path, runs: int, again: bool) -> dict:
    film_dir = home / "films" / "gen"
    row = {"shots": shots}
    if not again:
        write_film(film_dir, shots, takes_shot=2)
        print(f"{shots} shots: first render ...", flush=True)
        row["full"], row["full_mb"] = timed(FILM + ["render", str(film_dir)], home_env(home))
    print(f"{shots} shots: plan, status, no-op ...", flush=True)
    row.update(queries(home, film_dir, runs))
    print(f"{shots} shots: one edit ...", flush=True)
    row.update(edits(home, film_dir, shots, datetime.datetime.now().strftime("%H%M%S"), runs))
    print(f"{shots} shots: exactness past 100 shots ...", flush=True)
    row["exactness"] = exactness(home, film_dir)
    print(f"{shots} shots: the partitions page ...", flush=True)
    row["partitions_page"] = goals.partitions_page_seconds(home, "gen", "storyboard", shot_id(0))
    return row


REFERENCE_SHOTS = 8


def reference(runs: int) -> dict:
    """The same measures on an 8-shot film, in a fresh home, just after the long film's."""
    with tempfile.TemporaryDirectory(prefix="film-reference-") as root:
        home = Path(root)
        film_dir = home / "films" / "gen"
        write_film(film_dir, REFERENCE_SHOTS, takes_shot=2)
        row = {"shots": REFERENCE_SHOTS}
        row["full"], row["full_mb"] = timed(FILM + ["render", str(film_dir)], home_env(home))
        row.update(queries(home, film_dir, runs))
        row.update(edits(home, film_dir, REFERENCE_SHOTS, "reference", runs))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=2000)
    parser.add_argument("--start-shots", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--home", type=Path, help="FILM_HOME for the film (kept); default: a new temporary one")
    parser.add_argument("--again", action="store_true", help="the film in --home is rendered: measure all but the first render")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="film-feature-"))
    saved = json.loads(SAVED.read_text()) if SAVED.exists() else {}
    row = measure(args.shots, home, args.runs, args.again)
    if args.again:
        row = {**saved.get("row", {}), **row}
    print(f"{REFERENCE_SHOTS} shots, beside it: first render, plan, status, no-op, one edit ...", flush=True)
    beside = reference(args.runs)
    print(f"{args.start_shots} shots: plan, and the first step of a render ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="film-start-") as root:
        start = start_seconds(args.start_shots, Path(root))
    result = {"date": datetime.date.today().isoformat(), "commit": commit(), "machine": this_machine(), "home": str(home), "row": row,
              "reference": beside, "start": start, "first_render_commit": saved.get("first_render_commit") if args.again else commit()}
    SAVED.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
