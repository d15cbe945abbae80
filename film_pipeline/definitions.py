"""The Dagster code location: every film under $FILM_HOME/films plus every film `film render` has seen.

`workspace.yaml`, `dg` and `film ui` load `defs` from here. Each film's definitions come from
one factory (`defs.film.film_definitions`) and are merged, with the resources they share. The
graph's shape does not depend on what film.yaml says (shots are dynamic partitions), so a
broken film.yaml never stops the UI from loading; the error shows on the observation or run
that reads it.
"""

import warnings
from functools import lru_cache
from pathlib import Path

import dagster as dg

from film_pipeline.defs.film import film_definitions
from film_pipeline.defs.film_graph import FilmGraph
from film_pipeline.defs.resources import RenderSettings, StoreResource
from film_pipeline.home import discover_films
from film_pipeline.settings import Settings
from film_pipeline.store import store_location


def build_definitions(film_dirs: list[Path], settings: Settings | None = None) -> tuple[dg.Definitions, list[FilmGraph]]:
    """The films' merged definitions, and each film's names; `settings` default to the environment's."""
    settings = settings or Settings.from_env()
    with warnings.catch_warnings():  # observable sources are "beta", partitioned checks "preview" in 1.13: noise here
        warnings.filterwarnings("ignore", message=".*is currently in (beta|preview)")
        graphs = [FilmGraph.of(path) for path in film_dirs]
        films = [film_definitions(graph, settings) for graph in graphs]
    resources = dg.Definitions(resources={"store": StoreResource(location=store_location()),
                                          "render_settings": RenderSettings(profile=settings.profile)})
    return dg.Definitions.merge(*films, resources), graphs


@lru_cache(maxsize=4)
def _definitions_for(film_dirs: tuple[Path, ...], settings: Settings) -> dg.Definitions:
    return build_definitions(list(film_dirs), settings)[0]


def current_definitions() -> dg.Definitions:
    """The code location as $FILM_HOME is now, films registered since this process started
    included: what a Celery worker rebuilds a run's job from, task after task."""
    return _definitions_for(tuple(discover_films()), Settings.from_env())


@dg.definitions
def defs() -> dg.Definitions:
    return current_definitions()
