"""Renders through Dagster's Celery executor: a real redis-server and two `dagster-celery worker`
processes started by `film workers up` on 127.0.0.1, `film render` with FILM_BROKER set.

The tests of one xdist worker share a cluster, whatever the distribution: `make test` keeps them
together (`--dist loadgroup`), but a plain `pytest -n 2` may split them, and then each xdist
worker has a cluster of its own (its own FILM_HOME, Redis port and workers; clusters start one at
a time, so two never race for a port). No test relies on another having run before it: a test
that starts finds two live workers (the one that kills a worker leaves the cluster to be
restarted) and a film that was rendered last.
"""

import ast
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest

from film_pipeline.processes import alive
from film_pipeline.workers import WorkerSettings, celery_app
from film_pipeline_tests.conftest import edit_film, launch_ui, shot

pytestmark = [pytest.mark.xdist_group("celery-workers"),
              pytest.mark.skipif(shutil.which("redis-server") is None and not os.environ.get("CI"),
                                 reason="redis-server is not installed (.ci/run installs it)")]
FILM = str(Path(sys.executable).with_name("film"))
SHOT_CHAIN = {"storyboard", "clip", "upscaled_clip"}
LOST_AFTER = "10"  # seconds before a dead worker's task goes to another (the default is 30 min)
# `film workers up` picks a free port and only then starts Redis on it: two at once (two xdist
# workers, or two test runs on this machine) could pick the same one, and the second would find
# the first's Redis answering. One at a time, a port in use is never picked.
UP_LOCK = Path(tempfile.gettempdir()) / "film-pipeline-tests-workers-up.lock"


class Cluster:
    def __init__(self, home: Path):
        self.home, self.film_dir = home, home / "films" / "mini"
        self.env = {**os.environ, "FILM_HOME": str(home), "FILM_WORKER_LOST_AFTER": LOST_AFTER}
        self.env.pop("FILM_BROKER", None)

    def up(self) -> None:
        self.env.pop("FILM_BROKER", None)
        with open(UP_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            up = self.film("workers", "up", "2", timeout=240)
        assert up.returncode == 0, up.stderr + self.logs()
        exports = self.film("workers", "env").stdout
        self.env.update(line.removeprefix("export ").split("=", 1) for line in exports.splitlines())
        assert self.env["FILM_BROKER"].startswith("redis://127.0.0.1:")

    def all_alive(self) -> bool:
        record = self.record()
        return alive(record["broker_pid"]) and all(alive(pid) for pid in record["workers"].values())

    def film(self, *args, timeout=300, **env) -> subprocess.CompletedProcess:
        return subprocess.run([FILM, *args], env={**self.env, **env}, capture_output=True, text=True, timeout=timeout)

    def render(self) -> dict:
        done = self.film("render", "--json", "--no-progress", str(self.film_dir))
        assert done.returncode == 0, done.stderr[-3000:] + self.logs()
        return json.loads(done.stdout)

    def record(self) -> dict:
        return json.loads((self.home / "workers" / "workers.json").read_text())

    def logs(self) -> str:
        return "".join(f"\n--- {log.name}\n{log.read_text()[-1500:]}" for log in (self.home / "workers").glob("*.log"))

    @staticmethod
    def _run_logs(run_id: str, attempts: int = 20) -> list:
        """The run's event log, read while the workers write it. This poll opens the run's SQLite
        file many times a second, and opening it checks its schema, which SQLite can refuse for a
        moment while a worker writes ("database is locked"); a reader simply asks again."""
        from sqlalchemy.exc import OperationalError

        for attempt in range(attempts):
            try:
                with dg.DagsterInstance.get() as instance:
                    return list(instance.all_logs(run_id))
            except OperationalError as error:
                if "locked" not in str(error) or attempt == attempts - 1:
                    raise
                time.sleep(0.25)
        return []

    def step_history(self, run_id: str, step: str) -> tuple[list[str], bool]:
        """The workers a step of a run started on, in order, and whether it succeeded."""
        events = [e.dagster_event for e in self._run_logs(run_id) if e.dagster_event and e.step_key == step]
        started_on = [str(getattr(e.engine_event_data.metadata["Celery worker"], "value",
                                  e.engine_event_data.metadata["Celery worker"]))
                      for e in events if e.is_engine_event and "Celery worker" in e.engine_event_data.metadata]
        return started_on, any(e.is_step_success for e in events)

    def materialization(self, asset: str, shot_id: str | None) -> dict:
        with dg.DagsterInstance.get() as instance:
            key = dg.AssetKey(["mini", asset])
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, asset_partitions=[shot_id] if shot_id else None), limit=1).records
            return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


@pytest.fixture(scope="module")
def started_cluster(baseline, tmp_path_factory):
    home = tmp_path_factory.mktemp("celery") / "home"
    shutil.copytree(baseline, home)
    cluster = Cluster(home)
    cluster.up()
    yield cluster
    cluster.film("workers", "down", timeout=120)


@pytest.fixture
def cluster(started_cluster, monkeypatch):
    """The module's cluster with its broker and both workers alive (restarted if a test before
    this one killed one), and this process's Dagster instance on its home for this test alone."""
    if not started_cluster.all_alive():
        started_cluster.film("workers", "down", timeout=120)
        started_cluster.up()
    monkeypatch.setenv("DAGSTER_HOME", str(started_cluster.home / "dagster"))
    return started_cluster


def test_the_workers_serve_both_queues(cluster):
    status = cluster.film("workers", "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert len(lines) == 2 and all("queues gpu, cpu" in line for line in lines), status.stdout


def test_a_render_spreads_its_shots_over_the_workers_and_keeps_models_loaded(cluster):
    for shot_id, prompt in (("a", "a harbour at dusk"), ("b", "a city street in the rain"), ("c", "a lighthouse at dawn")):
        edit_film(cluster.film_dir, lambda doc, s=shot_id, p=prompt: shot(doc, s).__setitem__("prompt", p))
    result = cluster.render()
    assert not result["failed"] and result["final_cut"]
    assert {(m["asset"], m["partition"]) for m in result["materialized"]} >= {(a, s) for a in SHOT_CHAIN for s in "abc"}
    ran_on = {(a, s): cluster.materialization(a, s) for a in SHOT_CHAIN for s in "abc"}
    workers = {meta["worker"] for meta in ran_on.values()}
    assert len(workers) == 2 and all(w.startswith("film-worker-") for w in workers), workers
    # 9 model steps on 2 workers: some worker ran a model step with a model already in memory
    assert any(meta["models_already_loaded"] > 0 for meta in ran_on.values()), ran_on
    assert cluster.materialization("final_cut", None)["worker"].startswith("film-worker-")


def test_an_edit_rerenders_exactly_that_shot_through_the_workers(cluster):
    edit_film(cluster.film_dir, lambda doc: shot(doc, "b").__setitem__("prompt", "a tram in the snow"))
    result = cluster.render()
    shots = {(m["asset"], m["partition"]) for m in result["materialized"] if m["partition"]}
    assert shots == {(a, "b") for a in SHOT_CHAIN}
    assert {m["asset"] for m in result["materialized"] if not m["partition"]} == {"script", "final_cut", "timeline_export"}


def test_a_queue_nobody_serves_is_a_clear_error_not_a_hang(cluster):
    saved = (cluster.film_dir / "film.yaml").read_text()
    edit_film(cluster.film_dir, lambda doc: shot(doc, "c").__setitem__("prompt", "a lighthouse in a storm"))
    try:
        done = cluster.film("render", "--no-progress", str(cluster.film_dir), timeout=120, FILM_GPU_QUEUE="gpu-a100")
    finally:
        (cluster.film_dir / "film.yaml").write_text(saved)  # the next tests start from a rendered film
    assert done.returncode == 5, done.stderr
    assert "no Celery worker serves the gpu-a100 queue" in done.stderr and "Traceback" not in done.stderr


def test_a_save_in_the_ui_renders_on_the_workers(cluster):
    process, _ = launch_ui({**cluster.env, "FILM_SENSOR_INTERVAL": "2"}, cluster.home / "ui.log")
    try:
        edit_film(cluster.film_dir, lambda doc: shot(doc, "a").__setitem__("prompt", "a harbour in the snow"))
        deadline = time.monotonic() + 240
        while True:
            with dg.DagsterInstance.get() as instance:
                runs = [r.dagster_run for r in instance.get_run_records(dg.RunsFilter(tags={"launched_by": "sensor"}))]
            if any(run.job_name == "mini__render_shot_and_cut" and run.status == dg.DagsterRunStatus.SUCCESS for run in runs):
                break
            assert not any(run.status == dg.DagsterRunStatus.FAILURE for run in runs), runs
            assert time.monotonic() < deadline, (runs, (cluster.home / "ui.log").read_text()[-3000:])
            time.sleep(2)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    rendering = [run for run in runs if run.job_name != "mini__observe_specs"]
    assert [(run.job_name, run.tags.get("dagster/partition")) for run in rendering] == [("mini__render_shot_and_cut", "a")]
    for asset in SHOT_CHAIN:
        meta = cluster.materialization(asset, "a")
        assert meta["worker"].startswith("film-worker-"), (asset, meta["worker"])


def test_a_worker_killed_mid_task_hands_its_task_to_another_and_the_render_completes(cluster):
    for shot_id, prompt in (("a", "a harbour at night"), ("b", "a city street at noon"), ("c", "a lighthouse in fog")):
        edit_film(cluster.film_dir, lambda doc, s=shot_id, p=prompt: shot(doc, s).__setitem__("prompt", p))
    # a long shot: its clip and upscale steps take seconds, long enough to be caught running (30 s
    # of picture was not always enough on a loaded machine: every task seen had finished its step)
    edit_film(cluster.film_dir, lambda doc: shot(doc, "c").__setitem__("duration", 60.0))
    render = subprocess.Popen([FILM, "render", "--json", "--no-progress", str(cluster.film_dir)], env=cluster.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    app = celery_app(replace(WorkerSettings(), broker=cluster.env["FILM_BROKER"]))
    deadline, caught = time.monotonic() + 120, None
    while caught is None:
        assert render.poll() is None and time.monotonic() < deadline, "no step was caught running on a worker"
        busy = [(w, tasks[0]) for w, tasks in (app.control.inspect(timeout=0.5).active() or {}).items() if tasks]
        caught = next(filter(None, (_freeze_mid_step(cluster, worker, task) for worker, task in busy)), None)
    victim, task, run_id, step = caught
    stdout, stderr = render.communicate(timeout=300)
    assert render.returncode == 0, stderr[-3000:] + cluster.logs()
    result = json.loads(stdout)
    assert not result["failed"] and result["final_cut"]
    assert {(m["asset"], m["partition"]) for m in result["materialized"]} >= {(a, s) for a in SHOT_CHAIN for s in "abc"}
    # the killed task went to the other worker, which ran the step to success (the victim may or
    # may not have logged its own start before it was frozen)
    (survivor,) = set(cluster.record()["workers"]) - {victim}
    started_on, succeeded = cluster.step_history(run_id, step)
    assert succeeded and started_on[-1] == survivor and set(started_on) <= {victim, survivor}, (victim, step, started_on)
    survivor_log = (cluster.home / "workers" / f"{survivor.split('@')[0]}.log").read_text()
    assert f"execute_plan[{task['id']}] succeeded" in survivor_log


def _freeze_mid_step(cluster, worker: str, task: dict) -> tuple | None:
    """Kill the worker if its task's step is still running: (worker, task, run id, step). The worker
    is frozen first, so that it cannot finish the step while the run's events are read; a worker
    whose step had finished is let go (None)."""
    group = cluster.record()["workers"][worker]
    os.killpg(group, signal.SIGSTOP)
    run_id, step = _run_and_step(task)
    if cluster.step_history(run_id, step)[1]:
        os.killpg(group, signal.SIGCONT)
        return None
    os.killpg(group, signal.SIGKILL)  # mid-step, for certain
    return worker, task, run_id, step


def _run_and_step(task: dict) -> tuple[str, str]:
    """The run and step of a task `celery inspect active` lists (its kwargs as objects or as repr)."""
    kwargs = task["kwargs"] if isinstance(task["kwargs"], dict) else ast.literal_eval(task["kwargs"])
    packed = kwargs["execute_step_args_packed"]
    (step,) = packed["step_keys_to_execute"]
    return packed.get("run_id") or packed["pipeline_run_id"], step  # serialized under its old name
