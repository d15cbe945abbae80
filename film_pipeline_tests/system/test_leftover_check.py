"""The end-of-run check in conftest.py (pytest_sessionfinish) for real: a pytest run inside this
test, with that check's hooks, whose test leaves a process behind fails, names the process and
kills it, with or without xdist; a run whose children all exit in time passes."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from film_pipeline.processes import alive

INNER_CONFTEST = "from film_pipeline_tests.conftest import pytest_configure, pytest_sessionfinish  # noqa: F401\n"
INNER_TESTS = """\
import os
import subprocess
from pathlib import Path


def test_leaves_a_process_behind():
    process = subprocess.Popen(["sleep", "1000"])
    Path(os.environ["LEAK_PID_FILE"]).write_text(str(process.pid))


def test_waits_for_its_child():
    subprocess.run(["sleep", "0.1"], check=True)


def test_a_child_that_exits_within_the_grace_period():
    subprocess.Popen(["sleep", "1"])
"""


def inner_pytest(root: Path, *args: str) -> subprocess.CompletedProcess:
    (root / "conftest.py").write_text(INNER_CONFTEST)
    (root / "test_inner.py").write_text(INNER_TESTS)
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS"))}
    env.update(FILMTESTS_LEFTOVER_GRACE="4", LEAK_PID_FILE=str(root / "leak.pid"))
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", str(root), *args],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("workers", [["-p", "no:xdist"], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_process_left_behind_fails_the_run_and_is_killed(tmp_path, workers):
    run = inner_pytest(tmp_path, *workers)
    pid = int((tmp_path / "leak.pid").read_text())
    try:
        assert run.returncode == 1, run.stdout + run.stderr
        assert "3 passed" in run.stdout, run.stdout  # every test passed: the leftover alone fails the run
        assert "1 process(es) this test run started outlived it" in run.stdout, run.stdout  # not the xdist workers
        assert f"pid {pid}: sleep 1000" in run.stdout, run.stdout
        assert not alive(pid)
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_run_whose_children_all_exit_passes(tmp_path):
    run = inner_pytest(tmp_path, "-n", "2", "-k", "not leaves")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout and "outlived" not in run.stdout, run.stdout
