"""Every speed goal side by side, written to bench/RESULTS.md (`make bench`; `make bench-quick`).

    .venv/bin/python bench/results.py [--runs 3] [--sizes 8,32,128,512] [--quick] [--no-feature]
                                      [--start-shots 10000] [--out bench/RESULTS.md]

The 2,000-shot film is measured by bench/feature_length.py (`make bench-feature`, about an hour)
into bench/feature_length.json; this report includes it. How soon a 10,000-shot film never rendered
starts (`film plan`, and `film render` until its first step) is measured here, in about a minute.

0. The goals, each measured below, with its verdict; the import floor (`python -c "import dagster"`).

1. Incremental rebuild: a generated film's first render against the render after one prompt edit.
2. Orchestration overhead: `film render` against bench/plain_loop.py (same backends, no Dagster).
3. Final cut assembly against ffmpeg's concat stream copy (the I/O limit) and a naive moviepy re-encode.
4. Scale: time and peak memory of `film plan`, `film status` and a no-op `film render`, and
   whether the cut stays exact past Dagster's 100-partition limit; the runs plan and status add to
   the UI (the smallest film) and the UI's partitions page in headless Chromium (the largest).
5. The demo film: first render, one prompt edit from the command line, and the same edit saved
   while `film ui` runs, until the new cut is there (bench/goals.py).

Every `film` command runs as its own process (as a user runs it), timed by wall clock; its peak
memory is that process's own high-water mark (wait4's ru_maxrss, from a launcher of its own). Medians of --runs; a film's
first render is the one measurement taken once per size (it is the slowest, and what the edits
are divided by).
"""

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import goals  # noqa: E402
from bench.films import edit_prompt, shot_id, write_film  # noqa: E402

FILM = [sys.executable, "-m", "film_pipeline.cli"]
EXACT_FROM = 100  # Dagster's SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD
FEATURE = REPO / "bench" / "feature_length.json"  # written by bench/feature_length.py
START_LIMIT = 10.0  # seconds: "start work within seconds" past 2,000 shots, on 2 cores


# Starts a command and waits for it with wait4, from a small process of its own: Linux records a
# process's high-water mark across exec, and a command started straight from this process (vfork,
# then exec) reported this process's own peak as its own (304 MiB for every `film plan`, which
# peaks at 113 MiB). The launcher runs without site (about 10 MiB) and reports its child's figures.
LAUNCHER = """import os, subprocess, sys, time
started = time.perf_counter()
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{time.perf_counter() - started} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def timed(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """Runs a command to completion: (wall seconds, its peak resident memory in MiB), both measured
    by a small launcher (LAUNCHER). Its stderr (the progress bar) goes to a file: a pipe nobody
    reads fills up and stops the command."""
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report"
        subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(report), *command], env=env, cwd=REPO,
                       stdout=subprocess.DEVNULL, stderr=errors)
        seconds, peak_kib, code = report.read_text().split()
        if int(code) != 0:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(command)} failed:\n{errors.read().decode()[-3000:]}")
    return float(seconds), int(peak_kib) / 1024


# One model cache for every film `main` renders, warmed before the timings (`warm_model_cache`):
# what a model makes once per cache (the preview painter's catalogue of phrases, embedded) is no
# film's cost, and the plain loop, which runs after a film's render, would otherwise find it made.
MODEL_CACHE: Path | None = None


def home_env(home: Path) -> dict:
    shared = {"FILM_MODEL_CACHE": str(MODEL_CACHE)} if MODEL_CACHE else {}
    return {**os.environ, "FILM_HOME": str(home), "PYTHONWARNINGS": "ignore", **shared}


def warm_model_cache(root: Path) -> float:
    """Sets the shared model cache under `root` and fills it by rendering a one-shot film (its
    seconds are returned, and reported apart)."""
    global MODEL_CACHE
    MODEL_CACHE = root / "models"
    home = root / "warm-up"
    film_dir = home / "films" / "gen"
    write_film(film_dir, 1)
    seconds = timed(FILM + ["render", str(film_dir)], home_env(home))[0]
    shutil.rmtree(home, ignore_errors=True)
    return seconds


def median(values) -> float:
    return statistics.median(list(values))


def newest_cut_seconds(home: Path, film: str) -> float:
    """The render time the newest final cut's manifest records (its own cost, without the run around it)."""
    manifests = sorted((home / "store" / film / "final_cut" / "_").glob("*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(manifests[-1].read_text())["info"]["seconds"]


# ---- 1 and 4: one generated film per size ------------------------------------------------------

def film_at_size(shots: int, runs: int, incremental: bool, root: Path, count_runs: bool = False,
                 partitions_page: bool = False) -> dict:
    home = root / f"scale-{shots}"
    film_dir = home / "films" / "gen"
    yaml = write_film(film_dir, shots, takes_shot=2)
    env, row = home_env(home), {"shots": shots}
    print(f"  {shots} shots: first render ...", flush=True)
    row["full"], row["full_mb"] = timed(FILM + ["render", str(film_dir)], env)
    for step, args in (("plan", ["plan"]), ("status", ["status"]), ("noop", ["render"])):
        samples = [timed(FILM + args + [str(film_dir)], env) for _ in range(runs)]
        row[step], row[f"{step}_mb"] = median(s for s, _ in samples), max(m for _, m in samples)
    if incremental:
        edits, cuts = [], []
        for run in range(runs):
            edit_prompt(yaml, (shots // 2 + run) % shots, f", seen again {run}")
            edits.append(timed(FILM + ["render", str(film_dir)], env)[0])
            cuts.append(newest_cut_seconds(home, "gen"))
        row["edit"], row["cut"] = median(edits), median(cuts)
    if shots >= EXACT_FROM:
        out = subprocess.run([sys.executable, "bench/exactness.py", str(film_dir)], env=env, cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
        row["exactness"] = json.loads(out.strip().splitlines()[-1])
    if count_runs:
        row["runs_added"] = goals.runs_added_by_queries(home, film_dir)
    if partitions_page:
        print(f"  {shots} shots: the UI's partitions page in headless Chromium ...", flush=True)
        row["partitions_page"] = goals.partitions_page_seconds(home, "gen", "storyboard", shot_id(0))
    shutil.rmtree(home, ignore_errors=True)
    return row


# ---- 2: orchestration overhead -----------------------------------------------------------------

def orchestration(shots: int, runs: int, root: Path) -> dict:
    pipeline, plain = [], []
    for run in range(runs):
        home = root / f"orchestration-{run}"
        film_dir = home / "films" / "gen"
        write_film(film_dir, shots)
        print(f"  {shots} shots, run {run + 1}/{runs}: film render, then the plain loop ...", flush=True)
        pipeline.append(timed(FILM + ["render", str(film_dir)], home_env(home))[0])
        loop = ["-c", "import sys; from pathlib import Path; from bench.plain_loop import render_without_dagster; "
                      "render_without_dagster(Path(sys.argv[1]), Path(sys.argv[2]))"]
        plain.append(timed([sys.executable, *loop, str(film_dir), str(home / "plain")], home_env(home))[0])
        shutil.rmtree(home, ignore_errors=True)
    return {"shots": shots, "film": median(pipeline), "plain": median(plain), "ratio": median(pipeline) / median(plain)}


# ---- 3: final cut assembly ---------------------------------------------------------------------

def cut_assembly(shots: int, runs: int, root: Path) -> list[dict]:
    import numpy as np

    from bench.naive_cut import naive_moviepy_cut
    from film_pipeline import edit
    from film_pipeline.film import Delivery
    from film_pipeline.media import run_ffmpeg, write_master, write_wav
    from film_pipeline.timeline import layout

    fps, size, seconds = 24, (1024, 576), 2.0  # the demo's delivery size
    work = root / "cut"
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for index in range(shots):  # moving texture, so the encoder has real work
        base = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
        paths.append(work / f"clip{index}.mp4")
        write_master(paths[-1], (np.roll(base, 4 * f, axis=1) for f in range(int(seconds * fps))), fps, size)
    sound = work / "soundtrack.wav"
    write_wav(sound, (rng.standard_normal(int(shots * seconds * 48_000)) * 0.05).astype(np.float32))
    listing = work / "list.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in paths))

    def stream_copy():
        run_ffmpeg("-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                   "-c", "copy", str(work / "copy.mp4"), check=True)

    rows = []
    hard = [("cut", "hard cuts only, the first cut"), ("cut", "hard cuts only, a cut after an edit")]
    for (kind, label) in hard + [("crossfade", "a crossfade every 4th shot, the first cut")]:
        transitions = ["crossfade" if kind == "crossfade" and i % 4 == 1 else "cut" for i in range(shots)]
        placements = layout([(f"s{i}", seconds, t) for i, t in enumerate(transitions)], fps)
        clips = list(zip(placements, paths))
        cache = work / "cut-cache"
        after_edit = "after an edit" in label

        def ours():
            # the first cut composes the title and masters the sound; a later one finds both kept
            # (the film's cut-segment cache), as a cut after a picture edit does
            if not after_edit:
                shutil.rmtree(cache, ignore_errors=True)
            edit.assemble(clips, sound, "Title", "logline", fps, size, work / "ours.mp4", work / "poster.png",
                          delivery=Delivery(), cache=cache)

        def naive():
            naive_moviepy_cut(clips, sound, "Title", "logline", fps, size, work / "naive.mp4")

        if after_edit:
            ours()  # the cut before the edit
        measured = {}
        for name, step in (("copy", stream_copy), ("ours", ours), ("naive", naive)):
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                step()
                samples.append(time.perf_counter() - started)
            measured[name] = median(samples)
        rows.append({"cut": label, "shots": shots, **measured})
        print(f"  {label}: {measured}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return rows


# ---- RESULTS.md --------------------------------------------------------------------------------

def this_machine() -> str:
    """Cores, CPU model and memory: figures from two machines are not compared (bench/feature_length.json keeps it)."""
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{os.cpu_count()} cores ({cpu}), {int(memory) / 1024 / 1024:.1f} GiB memory"


def machine() -> list[str]:
    from film_pipeline.media import run_ffmpeg
    ffmpeg = run_ffmpeg("-version", capture_output=True, text=True).stdout.split()[2]
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("dagster", "torch", "diffusers", "transformers", "moviepy"))
    return [f"- Machine: {this_machine()}, no GPU used",
            f"- Software: Python {platform.python_version()}, {versions}, ffmpeg {ffmpeg}",
            f"- Date: {datetime.date.today().isoformat()}"]


ELSEWHERE = " (measured on another machine: no verdict)"  # a row with "elsewhere": a figure from another machine
BESIDE = " (the 8-shot film measured beside it)"  # bench/feature_length.py's reference row


def start_seconds(shots: int, root: Path) -> dict:
    """A film never rendered: `film plan`, and `film render` until its first step starts (then stopped)."""
    home = root / f"start-{shots}"
    film_dir = home / "films" / "gen"
    write_film(film_dir, shots)
    env = home_env(home)
    plan, plan_mb = timed(FILM + ["plan", str(film_dir)], env)
    errors = home / "render.err"
    started = time.perf_counter()
    with open(errors, "wb") as sink:
        process = subprocess.Popen(FILM + ["render", str(film_dir)], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                   stderr=sink, start_new_session=True)
        first_step = None
        while process.poll() is None and time.perf_counter() - started < 1800:
            if f"[{shot_id(0)}]" in errors.read_text(errors="replace"):
                first_step = time.perf_counter() - started
                break
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGINT)
        process.wait()
    return {"shots": shots, "plan": plan, "plan_mb": plan_mb, "first_step": first_step}


def verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def goal_rows(rows: list[dict], orchestra: dict, cuts: list[dict], floor: float, demo: dict | None,
              start: dict | None = None) -> list[str]:
    """Issue 17's goals, each with what was measured and its verdict."""
    small, large = rows[0], rows[-1]
    found = []

    def goal(what: str, measured: str, met: bool | None) -> None:
        found.append(f"| {what} | {measured} | {verdict(met) if met is not None else '–'} |")

    for step in ("noop", "plan", "status"):
        goal(f"no-op `film {'render' if step == 'noop' else step}` at {small['shots']} shots ≤ 2.5× the import floor "
             f"({floor:.2f} s)", f"{small[step]:.2f} s = {small[step] / floor:.2f}×", small[step] <= 2.5 * floor)
    base, beside, elsewhere = _baseline(large, small)
    if large is not small:
        for step in ("noop", "plan", "status"):
            goal(f"no-op `film {'render' if step == 'noop' else step}` at {large['shots']} shots ≤ 2× the {base['shots']}-shot "
                 f"time{beside}, peak ≤ 600 MiB{elsewhere}", f"{large[step]:.2f} s"
                 f"{'' if elsewhere else f' vs {base[step]:.2f} s = {large[step] / base[step]:.2f}×'}, {large[f'{step}_mb']:.0f} MiB",
                 None if elsewhere else
                 large[step] <= 2 * base[step] and large[f"{step}_mb"] <= 600)
    if "runs_added" in small:
        goal("`film plan` and `film status` add no runs to the UI", f"{small['runs_added']} run(s) added",
             small["runs_added"] == 0)
    edits = [r for r in rows if "edit" in r]
    for row in edits:
        if row["shots"] >= 32 and row.get("full"):
            ratio, target = row["edit"] / row["full"], 1.5 / row["shots"] + row["cut"] / row["full"]
            goal(f"one prompt edit at {row['shots']} shots: edit / first ≤ 1.5/N + the cut's share",
                 f"{ratio:.3f} (goal {target:.3f})", ratio <= target)
    by_size = {r["shots"]: r for r in edits}
    for big in (n for n in (512, 2000) if n in by_size and 8 in by_size):
        measured = by_size[big]
        eight, said, apart = _baseline(measured, by_size[8])
        goal(f"an edit at {big} shots ≤ 1.5× the same edit at 8{said}{apart}", f"{measured['edit']:.1f} s" + (
             "" if apart else f" vs {eight['edit']:.1f} s = {measured['edit'] / eight['edit']:.2f}×"),
             None if apart else measured["edit"] <= 1.5 * eight["edit"])
    goal(f"`film render` / plain loop ≤ 1.10 at {orchestra['shots']} shots", f"{orchestra['ratio']:.2f}",
         orchestra["ratio"] <= 1.10)
    for row in cuts[:2]:
        goal(f"a hard-cut film assembles in ≤ 2× ffmpeg's stream copy ({row['cut'].split(', ')[1]})",
             f"{row['ours'] / row['copy']:.2f}×", row["ours"] <= 2 * row["copy"])
    if demo:
        goal(f"the demo's first render ≤ 2 min (the language model's one-time conversion before it: "
             f"{demo['prepare']:.0f} s)", f"{demo['first']:.0f} s", demo["first"] <= 120)
        goal("the demo: edit to cut ≤ 15 s", f"{demo['edit']:.1f} s", demo["edit"] <= 15)
        goal(f"the demo: UI save to cut ≤ 1.3× the CLI's (the sensor's interval {demo['sensor_interval']} s; "
             "Dagster's daemon evaluates sensors every 5 s at most)",
             f"{demo['ui_cut']:.1f} s = {demo['ui_cut'] / demo['edit']:.2f}×", demo["ui_cut"] <= 1.3 * demo["edit"])
    if large.get("partitions_page") is not None:
        goal(f"Dagster's UI shows {large['shots']} shots' partitions (headless Chromium)",
             f"{large['partitions_page']:.1f} s", None)
    if start:
        first = start["first_step"]
        goal(f"past 2,000 shots, plan and render start work within seconds, read as ≤ {START_LIMIT:.0f} s "
             f"({start['shots']:,} shots, never rendered)",
             f"`film plan` {start['plan']:.1f} s; `film render` starts its first step after "
             f"{'no step in 30 min' if first is None else f'{first:.1f} s'}",
             first is not None and max(start["plan"], first) <= START_LIMIT)
    return ["| goal | measured | verdict |", "|---|---|---|", *found]


def _baseline(row: dict, fallback: dict) -> tuple[dict, str, str]:
    """What a larger film's row is compared with, and the words that say so: the 8-shot film
    bench/feature_length.py measured beside it, else `fallback`, the smaller film measured here
    (with no verdict, ELSEWHERE, if the row was measured on another machine)."""
    if row.get("reference"):
        return row["reference"], BESIDE, ""
    return fallback, "", ELSEWHERE if row.get("elsewhere") else ""


def report(rows: list[dict], orchestra: dict, cuts: list[dict], runs: int, took: float, floor: float,
           demo: dict | None, feature: dict | None = None, start: dict | None = None, warm: float | None = None) -> str:
    lines = ["# Benchmark results", "", f"Written by `make bench` (`bench/results.py --runs {runs}`) in {took / 60:.0f} min.", "",
             *machine(), "", "## 0. The goals", "", *goal_rows(rows, orchestra, cuts, floor, demo, start), "",
             *([f"The {feature['row']['shots']:,}-shot film comes from bench/feature_length.py (bench/feature_length.json: "
                f"{feature['date']}, commit {feature['commit']}; "
                + (f"its first render at commit {feature['first_render_commit']}), " if feature.get("first_render_commit")
                   else "its first render was not timed in one piece: it ran across several commits), ")
                + "measured apart because its first render takes "
                + (f"{feature['row']['full'] / 60:.0f} min" if feature["row"].get("full") else "over half an hour")
                + (", with an 8-shot film measured beside it for the goals that compare the two"
                   if feature.get("reference") else "")
                + (f", on another machine ({feature.get('machine') or 'not recorded'}): the verdicts that compare it "
                   "with the smaller films here are left out." if any(row.get("elsewhere") for row in rows) else ", on this machine."),
                ""] if feature else []),
             f"Each `film` command runs as its own process, as a user runs it. Medians of {runs} runs, except a film's "
             "first render (once per size). Generated films (`bench/films.py`): shots of 1 s at 12 fps, 64×36 "
             "rendered and upscaled ×2, preview profile, narration on every 4th shot, a crossfade after every 4th shot."
             + (f" The generated films and the plain loop share one model cache, filled before any timing by a one-shot "
                f"film's render ({warm:.1f} s): what a model makes once per cache (the preview painter's phrase "
                "catalogue, embedded) is in no first render, as it is in no second film's." if warm else ""), ""]
    lines += ["## 1. Incremental rebuild: one prompt edited", "",
              "| shots | first render (s) | after one prompt edit (s) | edit / first | the cut's own cost (s) | goal: 1.5/N + cut/first | no-op render (s) | (edit − no-op) / first | verdict |",
              "|---|---|---|---|---|---|---|---|---|"]
    for row in (r for r in rows if "edit" in r):
        if not row.get("full"):  # a first render not measured in one piece: the edit alone
            lines.append(f"| {row['shots']} | – | {row['edit']:.1f} | – | {row['cut']:.2f} | – | {row['noop']:.1f} | – | – |")
            continue
        ratio, goal = row["edit"] / row["full"], 1.5 / row["shots"] + row["cut"] / row["full"]
        row["goal_met"] = ratio <= goal
        lines.append(f"| {row['shots']} | {row['full']:.1f} | {row['edit']:.1f} | {ratio:.3f} | {row['cut']:.2f} | {goal:.3f} | "
                     f"{row['noop']:.1f} | {(row['edit'] - row['noop']) / row['full']:.3f} | {verdict(ratio <= goal)} |")
    lines += ["", "## 2. Orchestration overhead", "",
              "| shots | `film render` (s) | plain Python loop, same backends (s) | ratio | goal | verdict |", "|---|---|---|---|---|---|",
              f"| {orchestra['shots']} | {orchestra['film']:.1f} | {orchestra['plain']:.1f} | {orchestra['ratio']:.2f} | < 1.10 | "
              f"{verdict(orchestra['ratio'] < 1.10)} |"]
    lines += ["", "## 3. Final cut assembly", "",
              f"{cuts[0]['shots']} clips of 2 s at 1024×576, 24 fps, with a soundtrack mastered to -14 LUFS; median of {runs}. "
              "The stream copy joins the clips and nothing else. The first cut also composes the title over the opening "
              "shot and masters and encodes the soundtrack; a cut after a picture edit finds both kept in the cut's "
              "cache (the film's cut-segments), as `film render` does.", "",
              "| cut | ffmpeg concat, stream copy (s) | ours (s) | naive moviepy re-encode (s) | ours / copy | naive / ours | goal | verdict |",
              "|---|---|---|---|---|---|---|---|"]
    for row in cuts:
        goal = row["ours"] <= 2 * row["copy"] and row["naive"] >= 3 * row["ours"]
        lines.append(f"| {row['cut']} | {row['copy']:.2f} | {row['ours']:.2f} | {row['naive']:.2f} | {row['ours'] / row['copy']:.2f} | "
                     f"{row['naive'] / row['ours']:.1f} | {'(for reference)' if 'crossfade' in row['cut'] else '≤ 2× copy, well ahead of moviepy'} | "
                     f"{'–' if 'crossfade' in row['cut'] else verdict(goal)} |")
    lines += ["", "## 4. Scale", "",
              "| shots | first render (s) | peak MiB | `film plan` (s) | peak MiB | `film status` (s) | peak MiB | no-op `film render` (s) | peak MiB | cut exact past 100 shots |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        exact = row.get("exactness")
        shown = (f"yes (Dagster alone: {exact['dagster']}; planner: {exact['planner']})" if exact and exact["exact"]
                 else f"**no** ({exact})" if exact else "n/a (under 100)")
        first = f"{row['full']:.1f} | {row['full_mb']:.0f}" if row.get("full") else "– | –"
        lines.append(f"| {row['shots']} | {first} | {row['plan']:.1f} | {row['plan_mb']:.0f} | "
                     f"{row['status']:.1f} | {row['status_mb']:.0f} | {row['noop']:.1f} | {row['noop_mb']:.0f} | {shown} |")
    if demo:
        lines += ["", "## 5. The demo film", "",
                  "| the language model's conversion, once (s) | first render (s) | one prompt edit, `film render` (s) "
                  "| `film ui` boot (s) | save → the shot rerun in the UI (s) | save → the new cut in the UI (s) |",
                  "|---|---|---|---|---|---|",
                  f"| {demo['prepare']:.1f} | {demo['first']:.1f} | {demo['edit']:.1f} | {demo['ui_boot']:.1f} | "
                  f"{demo['ui_shot']:.1f} | {demo['ui_cut']:.1f} |", "",
                  "The conversion (the preview's SmolLM2 GGUF de-quantised into the model cache, and loaded once) "
                  "happens once per model cache, on the first render that expands a prompt; it is timed apart here, "
                  "in the same fresh FILM_HOME, just before the first render."]
    comparable = [row for row in rows if not row.get("elsewhere")]  # sizes from another machine make no growth
    if len(comparable) < 2:
        return "\n".join(lines) + "\n"
    lines += ["", "Growth between the two largest sizes, as an exponent of the shot count (1 = linear; a fixed start-up "
              "cost pulls it under 1):", "", "| step | time exponent | memory exponent | verdict |", "|---|---|---|---|"]
    small, large = comparable[-2:]
    factor = math.log(large["shots"] / small["shots"])
    for step in (s for s in ("full", "plan", "status", "noop") if small.get(s) and large.get(s)):
        time_k = math.log(large[step] / small[step]) / factor
        memory_k = math.log(large[f"{step}_mb"] / small[f"{step}_mb"]) / factor
        lines.append(f"| {step} | {time_k:.2f} | {memory_k:.2f} | {verdict(time_k <= 1.1 and memory_k <= 1.1)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="8,32,128,512,2000", help="shot counts for the scale table")
    parser.add_argument("--incremental", default="8,32,128,512,2000", help="shot counts for the incremental table")
    parser.add_argument("--orchestration-shots", type=int, default=32)
    parser.add_argument("--cut-shots", type=int, default=32)
    parser.add_argument("--no-demo", action="store_true", help="leave out the demo film (and the UI edit)")
    parser.add_argument("--quick", action="store_true",
                        help="one run each, films of 8 and 32 shots, the demo edited once (about 4 min on 2 cores)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md")
    parser.add_argument("--start-shots", type=int, default=10000,
                        help="a never-rendered film this long: how soon plan and render start (0: leave out)")
    parser.add_argument("--no-feature", action="store_true",
                        help="leave out the feature-length film bench/feature_length.py saved")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.sizes, args.incremental, args.orchestration_shots, args.cut_shots = 1, "8,32", "8,32", 8, 8
    elif FEATURE.exists() and not args.no_feature and "--sizes" not in sys.argv:
        args.sizes = args.incremental = "8,32,128,512"  # the feature-length film is measured apart
    started = time.perf_counter()
    sizes = [int(n) for n in args.sizes.split(",")]
    incremental = {int(n) for n in args.incremental.split(",")}
    with tempfile.TemporaryDirectory(prefix="film-bench-") as root:
        print("0. the import floor", flush=True)
        floor = goals.import_floor(max(3, args.runs))
        print("   the shared model cache, warmed by a one-shot film", flush=True)
        warm = warm_model_cache(Path(root))
        print("3. final cut assembly", flush=True)
        cuts = cut_assembly(args.cut_shots, args.runs, Path(root))
        print("2. orchestration overhead", flush=True)
        orchestra = orchestration(args.orchestration_shots, args.runs, Path(root))
        print("1 and 4. incremental rebuild and scale", flush=True)
        feature = json.loads(FEATURE.read_text()) if FEATURE.exists() and not args.no_feature else None
        rows = [film_at_size(n, args.runs, n in incremental, Path(root), count_runs=n == sizes[0],
                             partitions_page=n == sizes[-1] and not feature) for n in sizes]
        if feature and feature["row"]["shots"] not in sizes:
            rows.append({**feature["row"], **({"reference": feature["reference"]} if feature.get("reference") else {}),
                         **({} if feature.get("machine") == this_machine() else {"elsewhere": True})})
        start = None
        if args.start_shots:
            print(f"4. how soon {args.start_shots:,} shots start", flush=True)
            start = start_seconds(args.start_shots, Path(root))
        demo = None
        if not args.no_demo:
            print("5. the demo film", flush=True)
            demo = goals.demo(args.runs, 1 if args.quick else args.runs, Path(root))
    text = report(rows, orchestra, cuts, args.runs, time.perf_counter() - started, floor, demo, feature, start, warm)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
