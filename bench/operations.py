"""Dagster operations on the demo film: per-run overhead of the in-process and multiprocess
executors, and the time from saving an edit to the UI showing the finished rerun.

    .venv/bin/python bench/operations.py [--runs N] [--ui-runs N] [--sensor-interval S] [--home DIR]

Renders the demo once in a temporary FILM_HOME (preview profile), then:
1. Executors. Each shot's run (storyboard, clip, upscaled_clip, voiceover) executed again with
   every version already in the store, so each step only verifies and reuses: the wall time is
   the orchestration overhead. Then one real re-render of one shot (a prompt edit) with each
   executor: the multiprocess executor starts a process per step, which imports torch and loads
   the step's model again.
2. Edit to UI. `film ui` serves the home (the sensor at its default interval); one prompt is
   edited and saved; GraphQL is polled until the shot's run and the cut's run have succeeded.
Prints markdown tables (medians of N).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

try:
    from demo_home import demo_home
except ImportError:  # imported as bench.operations
    from bench.demo_home import demo_home

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
warnings.filterwarnings("ignore")
SHOT_EDITED = "storm"


def shot_job(executor: str):
    """The demo's shot job with the given executor (module level, so Dagster can reconstruct it)."""
    import dagster as dg

    from film_pipeline.render import open_session

    session = open_session(Path(os.environ["FILM_HOME"]) / "films" / "demo")
    job = session.defs.resolve_job_def(session.graph.shot_job)
    executor_def = dg.multiprocess_executor if executor == "multiprocess" else dg.in_process_executor
    return job.with_executor_def(executor_def)


def shot_job_in_process():
    return shot_job("in_process")


def shot_job_multiprocess():
    return shot_job("multiprocess")


def run_shot(executor: str, shot: str) -> float:
    import dagster as dg

    from film_pipeline.home import get_instance

    target = shot_job_multiprocess if executor == "multiprocess" else shot_job_in_process
    started = time.perf_counter()
    with dg.execute_job(dg.reconstructable(target), instance=get_instance(), tags={"dagster/partition": shot},
                        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}) as result:
        assert result.success, f"{executor} run of {shot} failed"
    return time.perf_counter() - started


def edit_prompt(film_dir: Path, words: str) -> None:
    from ruamel.yaml import YAML

    yaml = YAML()
    doc = yaml.load((film_dir / "film.yaml").read_text())
    shot = next(s for s in doc["shots"] if s["id"] == SHOT_EDITED)
    shot["prompt"] = f"{shot['prompt'].split(',')[0]}, {words}"
    with open(film_dir / "film.yaml", "w") as out:
        yaml.dump(doc, out)


def executors(film_dir: Path, runs: int) -> list[str]:
    from film_pipeline.film import load_film
    from film_pipeline.render import current_plan

    shots = [s.id for s in load_film(film_dir).shots]
    rows = ["| executor | no-op run per shot (median s) | one shot re-rendered after a prompt edit (s) |", "|---|---|---|"]
    for executor in ("in_process", "multiprocess"):
        noop = statistics.median(run_shot(executor, shot) for _ in range(runs) for shot in shots)
        edit_prompt(film_dir, f"seen by the {executor} executor")
        current_plan(film_dir)  # observe the edit
        real = run_shot(executor, SHOT_EDITED)
        rows.append(f"| {executor} | {noop:.2f} | {real:.1f} |")
    return rows


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def sensor_runs(port: int) -> list[tuple[str, str]]:
    data = graphql(port, '{ runsOrError(filter: {tags: [{key: "launched_by", value: "sensor"}]}) { ... on Runs {'
                         ' results { jobName status } } } }')
    return [(r["jobName"], r["status"]) for r in data["runsOrError"]["results"]]


def edit_to_ui(film_dir: Path, runs: int, interval: int) -> list[str]:
    boot, shot_median, cut_median = ui_edit_timings(film_dir, runs, interval)
    return ["| measure | seconds |", "|---|---|", f"| `film ui` boot to first answer | {boot:.1f} |",
            f"| save → the shot's rerun finished in the UI (sensor every {interval} s) | {shot_median:.1f} |",
            f"| save → the re-cut film finished in the UI | {cut_median:.1f} |"]


def shot_done(film_dir: Path, shot: str, since: float) -> bool:
    """Whether the shot's upscaled clip was materialized after `since` (in whichever run: a save
    that changed one shot renders it and the cut in one run)."""
    from film_pipeline.defs.film_graph import FilmGraph
    from film_pipeline.home import get_instance

    graph = FilmGraph.of(film_dir)
    with get_instance() as instance:
        record = instance.get_latest_data_version_record(graph.key("upscaled_clip"), False, shot)
    return record is not None and record.timestamp > since


def ui_edit_timings(film_dir: Path, runs: int, interval: int) -> tuple[float, float, float]:
    """(`film ui` boot, save -> the shot's rerun done, save -> the cut's run done), medians of `runs` edits."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "FILM_SENSOR_INTERVAL": str(interval)}
    server = subprocess.Popen([str(Path(sys.executable).with_name("film")), "ui", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        booted = time.perf_counter()
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        boot = time.perf_counter() - booted
        time.sleep(interval + 5)  # let the sensor's first tick observe the film as it is
        timings = []
        def finished(job_suffix: str, found: list) -> int:
            return sum(1 for job, status in found if job.endswith(job_suffix) and status == "SUCCESS")

        for attempt in range(runs):
            before = sensor_runs(port)
            edit_prompt(film_dir, f"take {attempt} for the UI")
            saved, saved_at = time.perf_counter(), time.time()
            shot_seen = None
            while True:
                found = sensor_runs(port)
                if shot_seen is None and shot_done(film_dir, SHOT_EDITED, saved_at):
                    shot_seen = time.perf_counter() - saved
                if sum(finished(job, found) - finished(job, before) for job in ("render_film", "render_shot_and_cut")) > 0:
                    break
                time.sleep(0.5)
            timings.append((shot_seen or 0.0, time.perf_counter() - saved))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return boot, statistics.median(t[0] for t in timings), statistics.median(t[1] for t in timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="no-op runs of every shot per executor")
    parser.add_argument("--ui-runs", type=int, default=3, help="edits timed through the UI")
    parser.add_argument("--sensor-interval", type=int, default=10)
    parser.add_argument("--home", type=Path, help="reuse this FILM_HOME (kept afterwards) instead of a fresh one")
    args = parser.parse_args()
    from film_pipeline.render import render_film

    home, film_dir = demo_home(args.home, "film-bench-ops-")
    started = time.perf_counter()
    assert not render_film(film_dir).failures
    print(f"demo first render: {time.perf_counter() - started:.1f} s ({os.cpu_count()} cores)\n")
    print("\n".join(executors(film_dir, args.runs)) + "\n")
    render_film(film_dir)  # the cut again, so the UI starts from a finished film
    print("\n".join(edit_to_ui(film_dir, args.ui_runs, args.sensor_interval)))
    if not args.home:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
