"""One prompt edit at 8 shots against the same edit at N shots: the goal "an edit at 512 shots costs
at most 1.5× the same edit at 8", measured in minutes instead of `make bench`'s hours.

    .venv/bin/python bench/edit_scale.py [--shots 512] [--rounds 3] [--home DIR]

Renders the two generated films (bench/films.py) once under --home, which is kept: a second call
measures at once (a 512-shot first render takes about 13 min on 2 cores). Then edits one prompt
in each film, alternately, `--rounds` times (the machine's drift falls on both alike), each edit a
`film render` in its own process, and prints every edit and the ratio of the medians.
"""

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.films import edit_prompt, write_film  # noqa: E402
from bench.results import FILM, home_env, median, timed  # noqa: E402

GOAL = 1.5
SMALL = 8


def rendered(home: Path, shots: int) -> Path:
    """The film of `shots` under home/<shots>, rendered once."""
    film_dir = home / str(shots) / "films" / "gen"
    if not (film_dir / "film.yaml").exists():
        write_film(film_dir, shots, takes_shot=2)
    print(f"{shots} shots: bringing the film up to date ...", flush=True)
    timed(FILM + ["render", str(film_dir)], home_env(home / str(shots)))
    return film_dir


def one_edit(film_dir: Path, shots: int, mark: str) -> float:
    edit_prompt(film_dir / "film.yaml", shots // 2, f", seen again {mark}")
    return timed(FILM + ["render", str(film_dir)], home_env(film_dir.parent.parent))[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--home", type=Path, default=Path("/tmp/film-edit-scale"))
    args = parser.parse_args()
    films = {shots: rendered(args.home, shots) for shots in (SMALL, args.shots)}
    seconds: dict[int, list[float]] = {shots: [] for shots in films}
    print(f"| round | edit at {SMALL} shots (s) | edit at {args.shots} shots (s) |\n|---|---|---|", flush=True)
    for round_ in range(1, args.rounds + 1):
        for shots, film_dir in films.items():
            seconds[shots].append(one_edit(film_dir, shots, f"{round_}-{len(seconds[shots])}"))
        print(f"| {round_} | {seconds[SMALL][-1]:.1f} | {seconds[args.shots][-1]:.1f} |", flush=True)
    ratio = median(seconds[args.shots]) / median(seconds[SMALL])
    print(f"\nmedians {median(seconds[SMALL]):.1f} s and {median(seconds[args.shots]):.1f} s: "
          f"{ratio:.2f}× (goal ≤ {GOAL}×): {'met' if ratio <= GOAL else 'missed'}")


if __name__ == "__main__":
    main()
