"""The backend registry: each row agrees with its class, and a spec's version is computed
without importing a model library."""

import subprocess
import sys

import pytest

from film_pipeline.backends.registry import BUILTIN


@pytest.mark.parametrize("entry", BUILTIN, ids=lambda e: f"{e.stage}:{e.name}")
def test_each_row_names_its_class_and_its_version(entry):
    cls = entry.load()
    assert (cls.name, cls.version) == (entry.name, entry.version), (
        f"{entry.where} says {cls.name} v{cls.version}: bump the row in film_pipeline/backends/registry.py with it")
    assert hasattr(cls, "variant") == entry.variant


def test_every_spec_of_every_profile_is_computed_without_torch(tmp_path):
    code = f"""
import sys
from pathlib import Path
from film_pipeline.film import load_film
from film_pipeline.profiles import profile_names
from film_pipeline.specs import SHOT_SPECS, character_spec, film_spec, score_spec, version_of
film = load_film(Path({str(tmp_path)!r}) / "film.yaml")
for profile in profile_names():
    version_of(film_spec(film, profile), score_spec(film, profile), character_spec(film, profile),
               [make(film, shot, profile) for shot in film.shots for make in SHOT_SPECS.values()])
heavy = sorted(m for m in ("torch", "diffusers", "transformers") if m in sys.modules)
print(heavy)
assert not heavy, heavy
"""
    from film_pipeline_tests.conftest import MINI_FILM

    (tmp_path / "film.yaml").write_text(MINI_FILM.replace("  - id: c\n", "  - id: c\n    takes: 3\n"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_render_imports_the_backends_its_steps_need_ahead_in_a_thread():
    code = """
import sys
from film_pipeline.backends import import_ahead
assert "torch" not in sys.modules
thread = import_ahead([("upscale", "realesrgan"), ("motion", "camera-move")])
assert thread.name == "film-import-ahead" and thread.daemon, thread
thread.join()
assert {"torch", "film_pipeline.backends.realesrgan", "film_pipeline.backends.camera"} <= set(sys.modules)
assert import_ahead([("upscale", "realesrgan"), ("motion", "camera-move")]) is None, "nothing left to import"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_backend_that_cannot_import_ahead_is_left_to_its_step(monkeypatch):
    from film_pipeline.backends import import_ahead
    from film_pipeline.backends.registry import ENTRIES, Entry

    monkeypatch.setitem(ENTRIES, ("upscale", "broken"), Entry("upscale", "broken", "1", "no_such_module:Broken"))
    thread = import_ahead([("upscale", "broken")])
    thread.join()
    assert "film_pipeline.backends.no_such_module" not in sys.modules
    with pytest.raises(ModuleNotFoundError, match="no_such_module"):
        ENTRIES[("upscale", "broken")].load()  # the step's own import says what is missing


def test_the_backends_a_render_needs_are_its_planned_stages_under_its_profile():
    from types import SimpleNamespace

    import dagster as dg

    from film_pipeline.render import _backends_of

    film = SimpleNamespace(profile="preview", models={"motion": {"backend": "diffusers-i2v"}})
    session = SimpleNamespace(profile="", film=film)
    shot = dg.RunRequest(asset_selection=[dg.AssetKey(["f", "storyboard"]), dg.AssetKey(["f", "upscaled_clip"])])
    cut = dg.RunRequest(asset_selection=[dg.AssetKey(["f", "script"]), dg.AssetKey(["f", "final_cut"])])
    assert _backends_of(session, [shot, cut]) == {("keyframe", "procedural-keyframe"), ("upscale", "realesrgan"),
                                                  ("motion", "diffusers-i2v")}
    session.profile = "tiny"
    assert ("keyframe", "procedural-keyframe") not in _backends_of(session, [shot])
    assert _backends_of(session, [cut]) == set(), "the script and the cut run no backend"


def test_a_render_starts_importing_ahead_when_its_first_step_starts_and_not_before(monkeypatch):
    from film_pipeline import render

    started = []
    monkeypatch.setattr(render, "import_ahead", lambda backends: started.append(set(backends)))
    ahead = render.ImportAhead({("upscale", "realesrgan")})
    assert started == []  # planning and the first run's setup go on alone
    ahead("started", "storyboard", "a")
    ahead("finished", "storyboard", "a")
    ahead("started", "clip", "a")
    assert started == [{("upscale", "realesrgan")}]  # once, at the first step
    ahead.join()
