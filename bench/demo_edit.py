"""First render vs one-prompt-edit render of the demo film, in a fresh FILM_HOME.

    .venv/bin/python bench/demo_edit.py [--runs N]

Prints a markdown table of wall-clock seconds (median of N) and the edit/full ratio; each run
uses its own temporary FILM_HOME and copy of the demo film, through the same `film render` code.
"""

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
warnings.filterwarnings("ignore")


def one_run() -> tuple[float, float, float, int]:
    from film_pipeline.render import render_film

    with tempfile.TemporaryDirectory() as home:
        os.environ["FILM_HOME"] = home
        film_dir = Path(home) / "films" / "demo"
        shutil.copytree(REPO / "data" / "films" / "demo", film_dir)
        started = time.perf_counter()
        full = render_film(film_dir)
        first = time.perf_counter() - started
        yaml = film_dir / "film.yaml"
        yaml.write_text(yaml.read_text().replace("a storm over the dark sea", "a storm over the black sea"))
        started = time.perf_counter()
        edit = render_film(film_dir)
        edited = time.perf_counter() - started
        started = time.perf_counter()
        noop = render_film(film_dir)
        nothing = time.perf_counter() - started
        assert not (full.failures or edit.failures) and noop.materialized == []
        return first, edited, nothing, len(edit.materialized)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = [one_run() for _ in range(parser.parse_args().runs)]
    first, edited, nothing = (statistics.median(r[i] for r in runs) for i in range(3))
    print(f"demo film, {len(runs)} run(s), {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| render | seconds (median) |\n|---|---|")
    print(f"| first (all 7 shots) | {first:.1f} |\n| after one prompt edit ({runs[0][3]} steps) | {edited:.1f} |")
    print(f"| no edit (no-op) | {nothing:.1f} |\n\nedit / first = {edited / first:.2f}")


if __name__ == "__main__":
    main()
