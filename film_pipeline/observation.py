"""Recording film.yaml's spec versions in the instance: computed in this process, without a run.

`source_specs` is what each spec source observes (the UI's observable sources, `defs/sources.py`,
call it too, so both record the same versions). `record_specs` compares every spec's version with
the one the instance recorded last (one query per source), saves the specs that changed in the
store (a step reads its spec by version), and writes observations for those alone, in one batch
and outside any run: a no-op render writes nothing, `film plan` and `film status` add nothing to
the UI's run list, and a feature's first render records thousands of observations in one
transaction.

A render records the specs of shots never rendered later, each chunk just before its shot's run
(`SpecBacklog`): whether such a shot is missing does not depend on its specs, and a
10,000-shot film's first render would otherwise save 40,000 specs before it starts its first shot.
"""

from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from itertools import islice

import dagster as dg

from film_pipeline.dagster_internals import latest_versions_by_partition, store_observations
from film_pipeline.defs.film_graph import FilmGraph
from film_pipeline.expansion import expand_film
from film_pipeline.film import Film
from film_pipeline.graph import SHOT_ASSETS, SOURCES
from film_pipeline.records import DATA_VERSION_TAG, latest_version
from film_pipeline.specs import SHOT_SPECS, character_spec, film_spec, score_spec, version_of
from film_pipeline.store import ArtifactStore, artifact_key

FILM_LEVEL_SPECS = {"score_spec": score_spec, "character_spec": character_spec}
SAVING_THREADS = 16
FIRST_CHUNK = 8  # shots whose deferred specs are recorded before the first shot's run; chunks then double
LARGEST_CHUNK = 1024


@dataclass(frozen=True)
class SpecChange:
    """A spec whose version is not the one the instance recorded last."""
    source: str
    shot: str | None
    spec: dict
    version: str


def source_specs(name: str, film: Film, profile: str, store: ArtifactStore,
                 shots: Iterable[str] = (), expansion: tuple[Film, dict[str, str]] | None = None
                 ) -> dict[str | None, dict]:
    """The spec a source records: `{None: spec}` for a film-level one, `{shot: spec}` for the
    shots in `shots` (the registered partitions) for a per-shot one. `expansion`: what
    `expand_film` returns, where the caller has it already."""
    if name == "film_spec":
        return {None: {**film_spec(film, profile), "expansions": (expansion or expand_film(film, profile, store))[1]}}
    if name in FILM_LEVEL_SPECS:
        return {None: FILM_LEVEL_SPECS[name](film, profile)}
    if name == "visual_spec":
        film = (expansion or expand_film(film, profile, store))[0]
    wanted = set(shots)
    return {shot.id: SHOT_SPECS[name](film, shot, profile) for shot in film.shots if shot.id in wanted}


def save_spec(store: ArtifactStore, slug: str, name: str, shot: str | None, spec: dict,
              version: str | None = None) -> str:
    """Store the spec under its version (once) and return the version."""
    version = version or version_of(spec)
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


class FilmSpecs:
    """The specs of one reading of film.yaml against the versions the instance recorded last (one
    query per source): which changed, a group of shots at a time (a render computes a
    never-rendered shot's just before its run)."""

    def __init__(self, instance: dg.DagsterInstance, graph: FilmGraph, film: Film, profile: str, store: ArtifactStore):
        self.film, self.profile, self.store = film, profile, store
        self.recorded = recorded_specs(instance, graph)
        self.expansion = expand_film(film, profile, store)  # read once for film_spec and visual_spec

    def changed(self, shots: Iterable[str], film_level: bool = False) -> list[SpecChange]:
        """The specs whose versions changed: the shots' (and, with `film_level`, the film's)."""
        shots = list(shots)
        changes = []
        for source in SOURCES:
            if not (source.per_shot or film_level):
                continue
            for shot, spec in source_specs(source.name, self.film, self.profile, self.store, shots,
                                           self.expansion).items():
                version = version_of(spec)
                if self.recorded.get((source.name, shot)) != version:
                    changes.append(SpecChange(source.name, shot, spec, version))
        return changes


def record(instance: dg.DagsterInstance, graph: FilmGraph, store: ArtifactStore, changes: list[SpecChange]) -> None:
    """Save the specs, then record their versions, in one batch."""
    if not changes:
        return
    # every spec is in the store, durably, before an observation names its version (a step reads it
    # by version); saved side by side (uploads, on S3) and synced together: thousands at a first render
    with store.synced_together(), ThreadPoolExecutor(max_workers=SAVING_THREADS) as pool:
        list(pool.map(lambda c: save_spec(store, graph.slug, c.source, c.shot, c.spec, c.version), changes))
    store_observations(instance, [dg.AssetObservation(graph.key(c.source), partition=c.shot,
                                                      tags={DATA_VERSION_TAG: c.version}) for c in changes])


def record_specs(instance: dg.DagsterInstance, graph: FilmGraph, film: Film, profile: str,
                 store: ArtifactStore, later: Collection[str] = (),
                 guard: Callable[[], AbstractContextManager] = nullcontext) -> "SpecBacklog":
    """Observe film.yaml as written now (the registered shots and the film). The specs of the shots
    in `later` are neither computed nor recorded yet: the backlog returned does both, in film order,
    for the render to call before each shot's run, inside `guard()` (the caller's error handling)."""
    specs = FilmSpecs(instance, graph, film, profile, store)
    deferred = set(later)
    now = [shot for shot in instance.get_dynamic_partitions(graph.partitions.name) if shot not in deferred]
    record(instance, graph, store, specs.changed(now, film_level=True))

    def record_later(shots: list[str]) -> None:
        with guard():
            record(instance, graph, store, specs.changed(shots))

    return SpecBacklog([shot.id for shot in film.shots if shot.id in deferred], record_later)


def never_rendered(instance: dg.DagsterInstance, graph: FilmGraph, shots: Iterable[str]) -> set[str]:
    """The shots of which no asset was ever materialized (one query per per-shot asset)."""
    rendered = set()
    for name in SHOT_ASSETS:
        rendered.update(latest_versions_by_partition(instance, graph.key(name)))
    return {shot for shot in shots if shot not in rendered}


class SpecBacklog:
    """Shots never rendered whose specs are not recorded yet: recorded in film order a chunk of shots
    at a time, each chunk before the run of its first shot. Chunks double from FIRST_CHUNK shots to
    LARGEST_CHUNK, so the first shot starts after a few dozen specs and a feature records in a few
    dozen batches (one store sync and one database transaction each)."""

    def __init__(self, shots: list[str], record_shots: Callable[[list[str]], None]):
        self._pending, self._record = dict.fromkeys(shots), record_shots
        self._chunk = FIRST_CHUNK

    def __len__(self) -> int:
        return len(self._pending)

    def shots(self) -> list[str]:
        return list(self._pending)

    def before_run(self, shot: str | None) -> None:
        """Record `shot`'s specs, with the next chunk's, unless they are recorded; a film-level run
        (`shot` None) needs every shot's, so it records all that remain."""
        if shot is None:
            self.record_all()
        elif shot in self._pending:
            shots = [shot] + [s for s in islice(self._pending, self._chunk) if s != shot][:self._chunk - 1]
            self._record_shots(shots)
            self._chunk = min(self._chunk * 2, LARGEST_CHUNK)

    def record_all(self) -> None:
        self._record_shots(list(self._pending))

    def _record_shots(self, shots: list[str]) -> None:
        if not shots:
            return
        self._record(shots)
        for shot in shots:
            del self._pending[shot]
