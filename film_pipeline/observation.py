"""Recording film.yaml's spec versions in the instance: computed in this process, without a run.

`source_specs` is what each spec source observes (the UI's observable sources, `defs/sources.py`,
call it too, so both record the same versions). `record_specs` compares every spec's version with
the one the instance recorded last (one query per source), saves the specs that changed in the
store (a step reads its spec by version), and writes observations for those alone, in one batch
and outside any run: a no-op render writes nothing, `film plan` and `film status` add nothing to
the UI's run list, and a feature's first render records thousands of observations in one
transaction.
"""

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import dagster as dg

from film_pipeline.dagster_internals import latest_versions_by_partition, store_observations
from film_pipeline.defs.film_graph import FilmGraph
from film_pipeline.expansion import expand_film
from film_pipeline.film import Film
from film_pipeline.graph import SOURCES
from film_pipeline.records import DATA_VERSION_TAG, latest_version
from film_pipeline.specs import SHOT_SPECS, character_spec, film_spec, score_spec, version_of
from film_pipeline.store import ArtifactStore, artifact_key

FILM_LEVEL_SPECS = {"score_spec": score_spec, "character_spec": character_spec}
SAVING_THREADS = 16


def source_specs(name: str, film: Film, profile: str, store: ArtifactStore,
                 shots: Iterable[str] = ()) -> dict[str | None, dict]:
    """The spec a source records: `{None: spec}` for a film-level one, `{shot: spec}` for the
    shots in `shots` (the registered partitions) for a per-shot one."""
    if name == "film_spec":
        return {None: {**film_spec(film, profile), "expansions": expand_film(film, profile, store)[1]}}
    if name in FILM_LEVEL_SPECS:
        return {None: FILM_LEVEL_SPECS[name](film, profile)}
    if name == "visual_spec":
        film = expand_film(film, profile, store)[0]
    wanted = set(shots)
    return {shot.id: SHOT_SPECS[name](film, shot, profile) for shot in film.shots if shot.id in wanted}


def save_spec(store: ArtifactStore, slug: str, name: str, shot: str | None, spec: dict) -> str:
    """Store the spec under its version (once) and return the version."""
    version = version_of(spec)
    key = artifact_key(slug, name, shot, version, "json")
    if not store.exists(key):
        store.put_json(key, spec)
    return version


def recorded_specs(instance: dg.DagsterInstance, graph: FilmGraph) -> dict[tuple[str, str | None], str]:
    """The spec versions the instance holds now: one query per source."""
    found = {}
    for source in SOURCES:
        key = graph.key(source.name)
        if source.per_shot:
            found.update({(source.name, shot): v for shot, v in latest_versions_by_partition(instance, key, True).items()})
        else:
            found[(source.name, None)] = latest_version(instance, key, None, is_source=True)
    return found


def record_specs(instance: dg.DagsterInstance, graph: FilmGraph, film: Film, profile: str,
                 store: ArtifactStore) -> list[tuple[str, str | None]]:
    """Observe film.yaml as written now; returns the (source, shot) whose version changed."""
    shots = instance.get_dynamic_partitions(graph.partitions.name)
    recorded = recorded_specs(instance, graph)
    changed, observations, specs = [], [], []
    for source in SOURCES:
        for shot, spec in source_specs(source.name, film, profile, store, shots).items():
            version = version_of(spec)
            if recorded.get((source.name, shot)) == version:
                continue
            specs.append((source.name, shot, spec))
            changed.append((source.name, shot))
            observations.append(dg.AssetObservation(graph.key(source.name), partition=shot,
                                                    tags={DATA_VERSION_TAG: version}))
    # every spec is in the store, durably, before an observation names its version (a step reads it
    # by version); saved side by side (uploads, on S3) and synced together: thousands at a first render
    with store.synced_together(), ThreadPoolExecutor(max_workers=SAVING_THREADS) as pool:
        list(pool.map(lambda item: save_spec(store, graph.slug, *item), specs))
    store_observations(instance, observations)
    return changed
