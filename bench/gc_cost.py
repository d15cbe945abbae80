"""What Python's garbage collector costs a `film render` after one prompt edit, with the `film`
command's policy (film_pipeline.heap: the collector paused during imports, their objects frozen)
and without it, measured in turn.

    .venv/bin/python bench/gc_cost.py [--home DIR] [--runs 3]

`--home` is a FILM_HOME whose films/gen a generated film (bench/films.py) was rendered in, such as
bench/feature_length.py's; without it, an 8-shot film is rendered first in a temporary home. Each
measurement edits one prompt with a new mark (a prompt seen before would reuse stored versions).
A probe (a sitecustomize on PYTHONPATH) adds up the time of every collection and how many full
passes ran; it writes them as the command exits. Prints medians of wall time and collector time.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.films import edit_prompt, write_film  # noqa: E402
from bench.results import FILM, home_env, median  # noqa: E402

PROBE = '''
import gc, json, os, time
_started, _spent, _full = {}, [0.0], [0]
def _timed(phase, info):
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        _spent[0] += time.perf_counter() - _started[0]
        _full[0] += info["generation"] == 2
gc.callbacks.append(_timed)
_exit = os._exit
def _report_then_exit(status):  # the film command leaves by os._exit (film_pipeline.cli.run)
    with open(os.environ["GC_REPORT"], "w") as out:
        json.dump({"seconds": _spent[0], "full_passes": _full[0]}, out)
    _exit(status)
os._exit = _report_then_exit
'''

# the command as installed, and the same command with the policy left out
VARIANTS = {
    "film's policy": FILM,
    "collector untouched": [sys.executable, "-c", "import sys; from film_pipeline import cli, heap; "
                            "heap.collect_around_imports = lambda: None; sys.argv[0] = 'film'; cli.run()"],
}


def edited_render(command: list[str], home: Path, probe: Path, index: int) -> dict:
    edit_prompt(home / "films" / "gen" / "film.yaml", index, f", seen again {uuid.uuid4().hex[:8]}")
    report = probe / "report.json"
    env = {**home_env(home), "PYTHONPATH": str(probe), "GC_REPORT": str(report)}
    started = time.perf_counter()
    subprocess.run(command + ["render", "--no-progress", str(home / "films" / "gen")], env=env, cwd=REPO,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"wall": time.perf_counter() - started, **json.loads(report.read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a FILM_HOME with a rendered generated film in films/gen")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        probe, home = Path(scratch) / "probe", args.home or Path(scratch) / "home"
        probe.mkdir()
        (probe / "sitecustomize.py").write_text(PROBE)
        if args.home is None:
            write_film(home / "films" / "gen", 8)
            subprocess.run(FILM + ["render", "--no-progress", str(home / "films" / "gen")], env=home_env(home),
                           cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shots = len(re.findall(r"^  - id: s\d+$", (home / "films" / "gen" / "film.yaml").read_text(), re.M))
        samples = {name: [] for name in VARIANTS}
        for _ in range(args.runs):
            for name, command in VARIANTS.items():  # in turn: the machine's speed moves within minutes
                samples[name].append(edited_render(command, home, probe, shots // 2))
    print(f"one prompt edit at {shots} shots, medians of {args.runs}:")
    for name, runs in samples.items():
        print(f"  {name:20s} wall {median(r['wall'] for r in runs):6.2f} s   collector "
              f"{median(r['seconds'] for r in runs):5.2f} s   full passes {median(r['full_passes'] for r in runs):.0f}")


if __name__ == "__main__":
    main()
