"""The factory: everything Dagster needs for one film, as one `dg.Definitions` (resources aside:
`definitions.py` merges the films and adds the resources they share)."""

import dagster as dg

from film_pipeline.defs.assets import asset_definitions
from film_pipeline.defs.checks import check_definitions
from film_pipeline.defs.film_graph import FilmGraph
from film_pipeline.defs.jobs import job_definitions
from film_pipeline.defs.schedules import nightly_render
from film_pipeline.defs.sensors import sensor_definitions
from film_pipeline.defs.sources import source_definitions
from film_pipeline.settings import Settings


def film_definitions(graph: FilmGraph, settings: Settings) -> dg.Definitions:
    jobs = job_definitions(graph, settings)
    shot_job, film_job, edit_job = (next(j for j in jobs if j.name == name) for name in graph.render_jobs)
    return dg.Definitions(
        assets=source_definitions(graph) + asset_definitions(graph, settings),
        asset_checks=check_definitions(graph),
        jobs=jobs,
        sensors=sensor_definitions(graph, settings, [shot_job, film_job, edit_job]),
        schedules=[nightly_render(graph, shot_job)],
    )
