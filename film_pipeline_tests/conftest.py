"""Shared fixtures: a small film, an isolated FILM_HOME, and one baseline render that tests copy.

The tests mirror the source in three tiers, each a folder and a marker of the same name:
`unit/` (no Dagster instance; seconds: `make test-unit`), `integration/` (a real instance,
store and ffmpeg) and `system/` (the `film` command as a subprocess, the UI, the workers).

The baseline (a real render through a real Dagster instance) is made once per test session;
each incremental test copies it, edits film.yaml and renders again, so tests never depend on
one another's edits.
"""

import shutil
import subprocess
import sys
import time
import urllib.request
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
        yield


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty FILM_HOME of the test's own."""
    root = tmp_path / "home"
    root.mkdir()
    monkeypatch.setenv("FILM_HOME", str(root))
    return root


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
