"""The Dagster code location: every film under $FILM_HOME/films plus every film `film render` has seen.

`workspace.yaml` loads `defs` from here. The graph's shape does not depend on what film.yaml
says (shots are dynamic partitions), so a broken film.yaml never stops the UI from loading; the
error shows on the observation or run that reads it.
"""

import warnings
from functools import lru_cache
from pathlib import Path

import dagster as dg

from film_pipeline.assets import FilmGraph, RenderSettings, StoreResource, build_film_graph
from film_pipeline.home import discover_films
from film_pipeline.store import store_location


def build_definitions(film_dirs: list[Path], profile: str = "") -> tuple[dg.Definitions, list[FilmGraph]]:
    with warnings.catch_warnings():  # observable sources are "beta", partitioned checks "preview" in 1.13: noise here
        warnings.filterwarnings("ignore", message=".*is currently in (beta|preview)")
        graphs = [build_film_graph(path) for path in film_dirs]
    defs = dg.Definitions(
        assets=[a for g in graphs for a in g.sources + g.assets],
        asset_checks=[c for g in graphs for c in g.checks],
        jobs=[j for g in graphs for j in g.jobs],
        sensors=[s for g in graphs for s in g.automation if isinstance(s, dg.SensorDefinition)],
        schedules=[s for g in graphs for s in g.automation if isinstance(s, dg.ScheduleDefinition)],
        resources={"store": StoreResource(location=store_location()),
                   "render_settings": RenderSettings(profile=profile)},
    )
    return defs, graphs


@lru_cache(maxsize=4)
def _definitions_for(film_dirs: tuple[Path, ...]) -> dg.Definitions:
    return build_definitions(list(film_dirs))[0]


def current_definitions() -> dg.Definitions:
    """The code location as $FILM_HOME is now, films registered since this process started
    included: what a Celery worker rebuilds a run's job from, task after task."""
    return _definitions_for(tuple(discover_films()))


defs, _ = build_definitions(discover_films())
