"""One film's jobs (render a shot, render the film, both for one edited shot, observe the specs, check
what is stored), and
observing film.yaml in-process: what `film render`, the sensor and the schedule all start with."""

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg

from film_pipeline.defs.film_graph import FilmGraph
from film_pipeline.graph import FILM_ASSETS, SHOT_ASSETS
from film_pipeline.settings import Settings
from film_pipeline.workers import executor_def

if TYPE_CHECKING:
    from film_pipeline.film import Film

# Dagster still records every log line in the instance (the UI shows them); terminals stay quiet.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class ObservationError(RuntimeError):
    """film.yaml could not be read into spec versions."""


def job_definitions(graph: FilmGraph, settings: Settings) -> list:
    # In-process: the steps of a run share one process, so a model loads once per run, not once per
    # step (bench/executors.py measures the difference). With FILM_BROKER set, steps go to Celery
    # workers, which keep their models loaded between tasks.
    render_executor = executor_def(settings.workers) if settings.workers.enabled else dg.in_process_executor
    shots, film = [graph.key(n) for n in SHOT_ASSETS], [graph.key(n) for n in FILM_ASSETS]
    return [
        dg.define_asset_job(graph.shot_job, selection=shots, partitions_def=graph.partitions, executor_def=render_executor,
                            description=f"Render shots of {graph.slug}: one run per shot."),
        dg.define_asset_job(graph.film_job, selection=film, executor_def=render_executor,
                            description=f"Script, soundtrack and final cut of {graph.slug}."),
        # a save that changed one shot: the shot, then the cut, in one run (one launch, no tick between)
        dg.define_asset_job(graph.edit_job, selection=shots + film, partitions_def=graph.partitions,
                            executor_def=render_executor,
                            description=f"Render one shot of {graph.slug} and then the film-level assets it changes "
                                        "(the cut): what the film.yaml sensor asks for after a save that changed one shot."),
        dg.define_asset_job(graph.observe_job, selection=graph.source_keys, executor_def=dg.in_process_executor,
                            description=f"Read {graph.slug}/film.yaml and record each stage's spec version."),
        dg.define_asset_job(graph.check_shot_job, partitions_def=graph.partitions, executor_def=dg.in_process_executor,
                            selection=dg.AssetSelection.checks_for_assets(*shots),
                            description=f"Check a shot of {graph.slug} as stored now (frames, black, frozen)."),
        dg.define_asset_job(graph.check_film_job, executor_def=dg.in_process_executor,
                            selection=dg.AssetSelection.checks_for_assets(*film),
                            description=f"Check the soundtrack and the cut of {graph.slug} as stored now."),
    ]


def observe(instance: dg.DagsterInstance, graph: FilmGraph, profile: str = "", later: Collection[str] = (),
            film: "Film | None" = None):
    """Record the spec versions of film.yaml as written now (or as `film`, already read, says), in
    this process and without a run (`observation.record_specs`), except the specs of the shots in
    `later`: the backlog returned records them (a render, before each shot's run), failing the same
    way. The observe job stays for the UI's own Observe button and records the same versions."""
    from film_pipeline.film import load_film
    from film_pipeline.observation import record_specs
    from film_pipeline.store import open_store

    film = film or load_film(graph.film_dir)
    with reading_specs(graph):
        return record_specs(instance, graph, film, profile or film.profile, open_store(), later,
                            guard=lambda: reading_specs(graph))


@contextmanager
def reading_specs(graph: FilmGraph) -> Iterator[None]:
    """A spec that cannot be computed is film.yaml's fault, said so (ObservationError); the store's
    faults and a FILM_HOME that cannot be written pass as they are (`film` has exit codes for them)."""
    from film_pipeline.errors import cannot_write
    from film_pipeline.home import film_home
    from film_pipeline.store.s3 import StoreAuthError, StoreUnavailableError

    try:
        yield
    except (StoreUnavailableError, StoreAuthError):
        raise
    except Exception as error:
        if cannot_write(error, film_home()) is not None:
            raise
        raise ObservationError(f"could not read the specs of {graph.film_dir / 'film.yaml'}: "
                               f"{type(error).__name__}: {error}") from error


def tagged(request: dg.RunRequest, graph: FilmGraph, launched_by: str, profile: str, key: str) -> dg.RunRequest:
    """Tags that find the film's runs in the UI; the run key that keeps a tick from asking twice."""
    tags = {"film": graph.slug, "launched_by": launched_by, **({"film/profile": profile} if profile else {})}
    return request.with_replaced_attrs(run_key=f"{request.partition_key or 'film'}:{key}", tags={**request.tags, **tags})
