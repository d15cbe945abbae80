"""Shared fixtures for the stage tests: a tiny film, a store, a logger, backends (or none), and
a `Pipeline` (pipeline.py) of its stages."""

import logging
from pathlib import Path

import pytest

from film_pipeline.backends import backend_for
from film_pipeline.film import Film, load_film
from film_pipeline.store import LocalStore
from film_pipeline_tests.conftest import MINI_FILM, write_film
from film_pipeline_tests.unit.stages.pipeline import LOGGER, Pipeline


@pytest.fixture
def film_dir(tmp_path) -> Path:
    return write_film(tmp_path)


@pytest.fixture
def film(film_dir) -> Film:
    """MINI_FILM: 64x36 at 8 fps, upscale 2; shots a (1 s, ana, narrated), b (1.5 s, 2 takes), c (1 s, narrated)."""
    return load_film(film_dir)


@pytest.fixture
def make_film(tmp_path):
    """A film of your own: `make_film(yaml_text)` writes it under tmp_path and loads it."""
    def make(text: str = MINI_FILM, name: str = "variant") -> Film:
        return load_film(write_film(tmp_path, text, name))
    return make


@pytest.fixture
def backends():
    return backend_for


def refuse_backends(stage: str, ident: dict):
    raise AssertionError(f"the stage asked for a {stage} backend ({ident['backend']}) it should not need")


@pytest.fixture
def no_backends():
    """A `backends` for stages that must not load any model."""
    return refuse_backends


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.fixture
def log(caplog) -> logging.Logger:
    caplog.set_level(logging.INFO, logger=LOGGER)
    return logging.getLogger(LOGGER)


@pytest.fixture
def workdir(tmp_path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def pipeline(film, store, tmp_path, log) -> Pipeline:
    return Pipeline(film, store, tmp_path, log)


@pytest.fixture
def pipeline_for(store, tmp_path, log, make_film):
    """`pipeline_for(yaml_text)`: a Pipeline over a film of your own."""
    def make(text: str, name: str = "variant") -> Pipeline:
        return Pipeline(make_film(text, name), store, tmp_path / name, log)
    return make
