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
