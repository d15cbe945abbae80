"""Failures that must lose nothing: a render killed mid-stage, two renders at once, a store that
cannot be written, and film.yaml files nobody would write on purpose (fuzzed)."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

import film_pipeline_tests.slow_backend  # noqa: F401  (registers slow-keyframe in this process too)
from film_pipeline.film import FilmError, load_film
from film_pipeline.render import render_film
from film_pipeline.specs import SHOT_SPECS, film_spec, film_timeline, score_spec
from film_pipeline_tests.conftest import write_film

SLOW_FILM = """\
title: Slow
fps: 4
resolution: [32, 18]
models:
  keyframe: {backend: slow-keyframe}
shots:
  - {id: a, prompt: a lighthouse at dusk, duration: 1.0, narration: one}
  - {id: b, prompt: the sea at night, duration: 1.0}
  - {id: c, prompt: dawn rising slowly, duration: 1.0, narration: three}
"""


def slow_render(film_dir: Path, home: Path, marker: Path, release: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "FILM_HOME": str(home), "FILM_SLOW_MARKER": str(marker),
           "FILM_SLOW_RELEASE": str(release or "")}
    return subprocess.Popen([sys.executable, "-m", "film_pipeline_tests.slow_backend", "render", str(film_dir), "--json",
                             "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def store_files(home: Path) -> dict[str, str]:
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (home / "store").rglob("*") if p.is_file()}


def assert_every_manifest_is_whole(home: Path) -> None:
    """No half artifact: every manifest names files that exist with the recorded sha256."""
    for manifest in (home / "store").rglob("*.json"):
        doc = json.loads(manifest.read_text())
        for stored in doc.get("files", {}).values():
            path = home / "store" / stored["key"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == stored["sha256"], path


def test_a_render_killed_mid_stage_resumes_with_only_the_unfinished_work(home):
    film_dir = write_film(home, SLOW_FILM)
    process = slow_render(film_dir, home, home / "painting-c")
    wait_for(home / "painting-c", process)  # storyboard[c] is being painted
    before = store_files(home)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    result = render_film(film_dir)  # the slow painter is not slow without its marker variable
    assert not result.failures, result.failures
    rendered = set(result.materialized)
    assert {("storyboard", "c"), ("clip", "c"), ("upscaled_clip", "c"), ("voiceover", "c"), ("final_cut", None)} <= rendered
    assert not {item for item in rendered if item[1] in ("a", "b")}, "finished shots are not rendered again"
    after = store_files(home)
    assert {key: after.get(key) for key in before} == before  # every earlier artifact intact
    assert_every_manifest_is_whole(home)
    assert result.final_cut is not None


def test_a_second_render_on_the_same_home_is_refused_and_nothing_breaks(home):
    film_dir = write_film(home, SLOW_FILM)
    release = home / "release"
    first = slow_render(film_dir, home, home / "painting-c", release)
    wait_for(home / "painting-c", first)
    second = subprocess.run([sys.executable, "-m", "film_pipeline.cli", "render", str(film_dir)], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "FILM_HOME": str(home)})
    assert second.returncode == 3
    assert f"another render is running on {home}" in second.stderr and "Traceback" not in second.stderr
    release.touch()
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert json.loads(out)["final_cut"]
    assert_every_manifest_is_whole(home)
    again = render_film(film_dir)
    assert again.materialized == [] and not again.failures  # the first render's state is whole: nothing to redo


def test_a_store_write_error_is_clear_and_records_no_half_artifact(home):
    film_dir = write_film(home, SLOW_FILM.replace("slowly", "gently"))
    blocker = home / "store" / "mini" / "upscaled_clip" / "b"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the store needs a directory: every write under it fails")
    result = subprocess.run([sys.executable, "-m", "film_pipeline_tests.slow_backend", "render", str(film_dir), "--json"],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "FILM_HOME": str(home)})
    assert result.returncode == 1
    assert f"mini__upscaled_clip[b]: FileExistsError: [Errno 17] File exists: '{blocker}'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    done = {(m["asset"], m["partition"]) for m in json.loads(result.stdout)["materialized"]}
    assert ("upscaled_clip", "a") in done and ("upscaled_clip", "b") not in done
    assert_every_manifest_is_whole(home)
    blocker.unlink()
    retry = render_film(film_dir)
    assert not retry.failures and ("upscaled_clip", "b") in retry.materialized and retry.final_cut is not None


# ---- fuzzed film.yaml ------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=40)
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                             max_size=4), max_leaves=20)
shot_like = st.fixed_dictionaries({"id": st.text(max_size=12) | st.sampled_from(["a", "b", "c"])}, optional={
    "prompt": st.text(max_size=300) | anything, "duration": st.floats(-5, 1e9) | anything,
    "camera": st.sampled_from(["static", "push_in", "zoom"]) | anything,
    "transition": st.sampled_from(["cut", "fade", "crossfade", "wipe"]), "takes": st.integers(-3, 40),
    "pick": st.integers(-3, 40), "clip_takes": st.integers(-3, 40), "characters": st.lists(st.text(max_size=5), max_size=3),
    "narration": st.text(max_size=200), "seed": st.integers(-10**20, 10**20)})
film_like = st.fixed_dictionaries({"title": st.text(max_size=60) | anything}, optional={
    "fps": st.integers(-10, 10**6) | anything, "resolution": st.lists(st.integers(-10, 10**5), max_size=3) | anything,
    "upscale": st.integers(-2, 9), "seed": st.integers(-10**20, 10**20), "profile": st.sampled_from(["preview", "tiny", "pro"]),
    "schedule": anything, "models": anything, "music": st.lists(anything, max_size=3), "characters": anything,
    "shots": st.lists(shot_like, max_size=6) | anything})


def plan_or_error(tmp_path: Path, text: str) -> None:
    """Either a film whose whole render plan can be computed, or a FilmError naming film.yaml."""
    path = tmp_path / "film.yaml"
    path.write_text(text)
    try:
        film = load_film(tmp_path)
    except FilmError as error:
        assert str(path) in str(error)
        return
    film_spec(film, film.profile)
    score_spec(film, film.profile)
    assert len(film_timeline(film)) == len(film.shots)
    for shot in film.shots:
        for make in SHOT_SPECS.values():
            make(film, shot, film.profile)


def dump(doc) -> str:
    from io import StringIO

    out = StringIO()
    YAML().dump(doc, out)
    return out.getvalue()


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(doc=film_like | anything)
def test_fuzzed_film_yaml_gives_a_plan_or_a_clear_error(tmp_path, doc):
    plan_or_error(tmp_path, dump(doc))


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=400))
def test_fuzzed_bytes_give_a_plan_or_a_clear_error(tmp_path, text):
    plan_or_error(tmp_path, text)


@pytest.mark.parametrize("text", [
    "title: Deep\nshots: " + "[" * 2000 + "]" * 2000 + "\n",
    "title: Deep\nmodels:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 400)),
    "title: Long\nshots:\n  - {id: a, prompt: " + "very " * 200_000 + "long}\n",
    "title: Huge\nfps: 99999999999999999999999999999\nshots:\n  - {id: a, prompt: x}\n",
    "title: \U0001F3AC 映画 фильм\nshots:\n  - {id: a, prompt: \"\U0001F30A la mer, \u202e\u0000 ok\"}\n",
    "&a [*a]",
    "title: Many\nshots:\n" + "".join(f"  - {{id: s{i}, prompt: shot {i}, duration: 0.5}}\n" for i in range(5000)),
])
def test_extreme_film_yaml_gives_a_plan_or_a_clear_error_quickly(tmp_path, text):
    started = time.monotonic()
    plan_or_error(tmp_path, text)
    assert time.monotonic() - started < 60
