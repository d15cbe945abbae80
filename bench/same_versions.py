"""Data versions are a promise: renders by an older revision stay current under this one.

    .venv/bin/python bench/same_versions.py [--rev f62e2dd] [--film data/films/demo] [--shots 6]

Renders a film with the code at REV (a clone, its modules first on sys.path, this venv's
packages), then with the working tree:
1. the same FILM_HOME: `film render` must render nothing (Dagster and the planner agree that
   every version recorded by the old code is current);
2. a copy with Dagster's instance removed and the store kept: every asset is materialized again,
   and every one must be reused from the store (the new code computes the very versions the old
   code stored), ending on the same final cut.
Without --film it renders a generated film of --shots shots (bench/films.py), which has takes,
narration and crossfades; `--film data/films/demo` checks every stage the demo uses (minutes).
Exits 1 and says which asset moved if a check fails.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def film(args: list[str], home: Path, code: Path | None = None) -> dict:
    """`film ...` as a subprocess, with the code at `code` (a clone) or this working tree."""
    env = {**os.environ, "FILM_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    if code:
        env["PYTHONPATH"] = str(code)
    run = subprocess.run([sys.executable, "-m", "film_pipeline.cli", *args, "--json", "--no-progress"], env=env,
                         cwd=code or REPO, capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"film {' '.join(args)} failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return json.loads(run.stdout)


def reused_everything(home: Path, film_dir: Path) -> list[str]:
    """Every materialization that rendered instead of reusing, as `asset[shot]`."""
    os.environ["FILM_HOME"] = str(home)
    from film_pipeline.defs.film_graph import FilmGraph
    from film_pipeline.graph import ASSET_NAMES
    from film_pipeline.home import get_instance
    from film_pipeline.records import materializations

    graph, instance = FilmGraph.of(film_dir), get_instance()
    return [f"{name}[{record.asset_materialization.partition or '-'}]" for name in ASSET_NAMES
            for record in materializations(instance, graph.key(name))
            if not record.asset_materialization.metadata["reused"].value]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rev", default="f62e2dd", help="the older revision whose renders must stay current")
    parser.add_argument("--film", type=Path, help="a film directory (default: a generated film)")
    parser.add_argument("--shots", type=int, default=6)
    args = parser.parse_args()
    from bench.films import write_film

    with tempfile.TemporaryDirectory() as tmp:
        old, home = Path(tmp) / "old", Path(tmp) / "home"
        subprocess.run(["git", "clone", "-q", str(REPO), str(old)], check=True)
        subprocess.run(["git", "-C", str(old), "checkout", "-q", args.rev], check=True)
        film_dir = home / "films" / "bench"
        if args.film:
            shutil.copytree(args.film, film_dir)
        else:
            write_film(film_dir, args.shots)
        first = film(["render", str(film_dir)], home, code=old)
        print(f"{args.rev}: rendered {len(first['materialized'])} assets; cut {Path(first['final_cut']).name}")

        fresh = Path(tmp) / "fresh"  # copied first: what the first check renders must not help the second
        shutil.copytree(home, fresh, ignore=shutil.ignore_patterns("dagster"))
        again = film(["render", str(film_dir)], home)
        print(f"this tree, same FILM_HOME: {len(again['materialized'])} assets rendered")
        rebuilt = film(["render", str(fresh / "films" / "bench")], fresh)
        rendered = reused_everything(fresh, fresh / "films" / "bench")
        same_cut = Path(rebuilt["final_cut"]).name == Path(first["final_cut"]).name
        print(f"this tree, instance removed: {len(rebuilt['materialized'])} assets materialized, "
              f"{len(rendered)} rendered instead of reused; same final cut: {same_cut}")
        if again["materialized"] or rendered or not same_cut:
            sys.exit(f"data versions moved: {again['materialized'] or rendered or 'the final cut'}")
        print("data versions are unchanged")


if __name__ == "__main__":
    main()
