"""Dagster's `dg` CLI on the repository, as the README tells people to run it: from the repo
root, with the project's virtual environment, on a FILM_HOME of the test's own."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from film_pipeline.home import dagster_home
from film_pipeline.processes import free_port
from film_pipeline_tests.conftest import write_film

REPO = Path(__file__).resolve().parents[2]
DG = Path(sys.executable).with_name("dg")


@pytest.fixture
def dg_env(home) -> dict:
    write_film(home)
    return {**os.environ, "FILM_HOME": str(home), "DAGSTER_HOME": str(dagster_home()), "PYTHONWARNINGS": "ignore"}


def dg(*args, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(DG), *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def test_dg_check_defs_loads_every_film(dg_env):
    run = dg("check", "defs", env=dg_env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "All definitions loaded successfully" in run.stdout + run.stderr


def test_dg_list_defs_lists_the_films_assets_jobs_and_automation(dg_env):
    run = dg("list", "defs", "--json", env=dg_env)
    assert run.returncode == 0, run.stderr
    listed = json.loads(run.stdout)
    assets = {a["asset_key"] for a in listed["assets"]}
    assert {"mini/storyboard", "mini/clip", "mini/upscaled_clip", "mini/final_cut", "mini/visual_spec"} <= assets
    assert {j["name"] for j in listed["jobs"]} >= {"mini__render_shot", "mini__render_film", "mini__observe_specs"}
    assert {s["name"] for s in listed["sensors"]} == {"mini__on_edit", "mini__automation"}
    assert {s["name"] for s in listed["schedules"]} == {"mini__nightly"}


def test_dg_dev_serves_the_ui_on_loopback_and_stops(dg_env, tmp_path):
    port = free_port()
    log = open(tmp_path / "dg-dev.log", "w")
    # SIGINT back to its default: a background process otherwise ignores it, and dagster dev with it
    server = subprocess.Popen([str(DG), "dev", "--host", "127.0.0.1", "--port", str(port)], env=dg_env, cwd=REPO,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as answer:
                    assert json.load(answer)["dagster_version"]
                    break
            except OSError:
                assert server.poll() is None, (tmp_path / "dg-dev.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "dg-dev.log").read_text()
                time.sleep(1)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=90) is not None
    finally:
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        log.close()


@pytest.mark.parametrize("target", [["-w", "workspace.yaml"], ["-m", "film_pipeline.definitions"]])
def test_dagster_definitions_validate_keeps_working(dg_env, target):
    dagster = Path(sys.executable).with_name("dagster")
    run = subprocess.run([str(dagster), "definitions", "validate", *target], capture_output=True, text=True,
                         env=dg_env, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "All code locations passed validation" in run.stdout + run.stderr
