"""A feature-length film, measured apart from `make bench` because its first render takes an hour
on 2 cores; bench/results.py puts the figures it saved into bench/RESULTS.md.

    .venv/bin/python bench/feature_length.py [--shots 2000] [--home DIR] [--start-shots 10000]
    .venv/bin/python bench/feature_length.py --again --home DIR   # the same film, the code now

At `--shots` (a generated film, as bench/films.py writes them): the first render; then `film plan`,
`film status` and a no-op `film render`; a prompt edit (the median of `--runs`); the cut's exactness past Dagster's
100-partition limit; Dagster's partitions page in headless Chromium. At `--start-shots`: how long
`film plan` takes on a film never rendered, and how long `film render` takes to start its first
step. Beside them, an 8-shot film's plan, status, no-op and edit (`reference`), each measured in
turn with the long film's, `--runs` rounds, medians kept: the goals that compare the two sizes
compare figures of one machine at one time (its speed moves by half within minutes).
The rendered home is kept (`--home`), so `--again` measures everything but the first render
again after a change to the code. Writes bench/feature_length.json.
"""

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import goals  # noqa: E402
from bench.films import edit_prompt, shot_id, write_film  # noqa: E402
from bench.results import FILM, home_env, median, newest_cut_seconds, start_seconds, this_machine, timed  # noqa: E402

SAVED = REPO / "bench" / "feature_length.json"


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()


QUERIES = (("plan", ["plan"]), ("status", ["status"]), ("noop", ["render"]))
REFERENCE_SHOTS = 8


@dataclass
class Film:
    """A generated film in a home of its own, and what was measured of it."""
    shots: int
    home: Path
    row: dict = field(default_factory=dict)
    samples: dict = field(default_factory=lambda: defaultdict(list))

    @property
    def folder(self) -> Path:
        return self.home / "films" / "gen"

    def render(self) -> tuple[float, float]:
        return timed(FILM + ["render", str(self.folder)], home_env(self.home))

    def time(self, name: str, args: list[str]) -> None:
        self.samples[name].append(timed(FILM + args + [str(self.folder)], home_env(self.home)))

    def edit(self, mark: str) -> None:
        edit_prompt(self.folder / "film.yaml", self.shots // 2, f", seen again {mark}")
        self.samples["edit"].append(self.render())

    def medians(self) -> dict:
        found = {}
        for name, samples in self.samples.items():
            found[name], found[f"{name}_mb"] = median(s for s, _ in samples), max(m for _, m in samples)
        found["edit_samples"] = [round(s, 2) for s, _ in self.samples["edit"]]
        found["cut"] = newest_cut_seconds(self.home, "gen")
        return found


def side_by_side(films: list[Film], runs: int) -> None:
    """The queries, then the edits, of every film in turn, `runs` rounds: this machine's speed moves
    by up to half within minutes, and measured one film after the other, a slow minute fell on one."""
    mark = datetime.datetime.now().strftime("%H%M%S")
    for round_ in range(runs):
        for name, args in QUERIES:
            for film in films:
                film.time(name, args)
    for round_ in range(runs):
        for film in films:
            film.edit(f"{mark}-{round_}")


def exactness(home: Path, film_dir: Path) -> dict:
    out = subprocess.run([sys.executable, "bench/exactness.py", str(film_dir)], env=home_env(home), cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(shots: int, home: Path, runs: int, again: bool, reference_root: Path) -> tuple[dict, dict]:
    """The long film's row and the 8-shot film's (`reference`), their queries and edits side by side."""
    feature, reference = Film(shots, home, {"shots": shots}), Film(REFERENCE_SHOTS, reference_root, {"shots": REFERENCE_SHOTS})
    for film in ([] if again else [feature]) + [reference]:
        write_film(film.folder, film.shots, takes_shot=2)
        print(f"{film.shots} shots: first render ...", flush=True)
        film.row["full"], film.row["full_mb"] = film.render()
    print(f"{shots} and {REFERENCE_SHOTS} shots, in turn: plan, status, no-op, then one edit, {runs} times ...", flush=True)
    side_by_side([feature, reference], runs)
    for film in (feature, reference):
        film.row.update(film.medians())
    print(f"{shots} shots: exactness past 100 shots ...", flush=True)
    feature.row["exactness"] = exactness(home, feature.folder)
    print(f"{shots} shots: the partitions page ...", flush=True)
    feature.row["partitions_page"] = goals.partitions_page_seconds(home, "gen", "storyboard", shot_id(0))
    return feature.row, reference.row


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
    with tempfile.TemporaryDirectory(prefix="film-reference-") as root:
        row, beside = measure(args.shots, home, args.runs, args.again, Path(root))
    if args.again:
        row = {**saved.get("row", {}), **row}
    print(f"{args.start_shots} shots: plan, and the first step of a render ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="film-start-") as root:
        start = start_seconds(args.start_shots, Path(root))
    result = {"date": datetime.date.today().isoformat(), "commit": commit(), "machine": this_machine(), "home": str(home), "row": row,
              "reference": beside, "start": start, "first_render_commit": saved.get("first_render_commit") if args.again else commit()}
    SAVED.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
