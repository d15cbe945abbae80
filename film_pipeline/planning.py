"""What is fresh, stale or missing, and the runs that bring a film up to date.

This is the one automation decision: `film render`, `film plan`, `film status` (and the sensor
that watches film.yaml) all call `plan_film`. Dagster's resolver says which partitions are stale
against their recorded inputs; this module adds what Dagster leaves out: anything downstream of
a partition that will re-render is planned too (a clip whose storyboard re-renders is stale in
effect even though its own inputs have not changed yet).
"""

from dataclasses import dataclass, field

import dagster as dg
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
from dagster._core.definitions.data_version import (DATA_VERSION_TAG, CachingStaleStatusResolver, StaleStatus,
                                                    extract_data_version_from_entry)
from dagster._core.events import DagsterEventType
from dagster._time import get_current_datetime

from film_pipeline.assets import CODE_VERSIONS, FILM_ASSETS, PARENTS, SHOT_ASSETS, FilmGraph, film_level_inputs
from film_pipeline.film import Film
from film_pipeline.specs import version_of

# Dagster still records every log line in the instance (the UI shows them); terminals stay quiet.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class AssetState:
    asset: str
    partition: str | None
    status: str          # fresh | stale | missing
    planned: bool
    reason: str = ""

    def as_dict(self) -> dict:
        return {"asset": self.asset, "partition": self.partition, "status": self.status,
                "planned": self.planned, "reason": self.reason}


@dataclass
class Plan:
    film: str
    states: list[AssetState] = field(default_factory=list)
    shot_runs: dict[str, list[str]] = field(default_factory=dict)  # shot -> assets to render
    film_assets: list[str] = field(default_factory=list)           # script/soundtrack/final_cut to render

    @property
    def planned(self) -> list[AssetState]:
        return [s for s in self.states if s.planned]

    def run_requests(self, graph: FilmGraph) -> list[dg.RunRequest]:
        """The plan as Dagster run requests: one per shot, then one for the film-level assets."""
        requests = [dg.RunRequest(job_name=graph.shot_job, partition_key=shot, run_key=None,
                                  asset_selection=[graph.key(a) for a in assets])
                    for shot, assets in self.shot_runs.items()]
        if self.film_assets:
            requests.append(dg.RunRequest(job_name=graph.film_job, asset_selection=[graph.key(a) for a in self.film_assets]))
        return requests


def stale_resolver(instance: dg.DagsterInstance, asset_graph) -> CachingStaleStatusResolver:
    view = AssetGraphView(temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
                          instance=instance, asset_graph=asset_graph)
    return CachingStaleStatusResolver(instance, asset_graph, view)


def plan_film(film: Film, graph: FilmGraph, instance: dg.DagsterInstance, asset_graph) -> Plan:
    """Statuses of every asset partition of the film as written now, and what to render.

    `asset_graph` is the code location's (`defs.resolve_asset_graph()`, or a sensor's
    `context.repository_def.asset_graph`).
    """
    resolver = stale_resolver(instance, asset_graph)
    registered = set(instance.get_dynamic_partitions(graph.partitions.name))
    plan = Plan(graph.slug)
    planned: set[tuple[str, str | None]] = set()
    versions = RecordedVersions(graph, instance, [shot.id for shot in film.shots])

    def visit(name: str, shot: str | None) -> None:
        if shot is not None and shot not in registered:
            status, reason = "missing", "new shot"
        else:
            dagster_status = resolver.get_status(graph.key(name), shot)
            status = {StaleStatus.FRESH: "fresh", StaleStatus.STALE: "stale", StaleStatus.MISSING: "missing"}[dagster_status]
            reason = "; ".join(f"{c.key.asset_key.path[-1]} {c.reason}"
                               for c in resolver.get_stale_root_causes(graph.key(name), shot)) if status == "stale" else ""
        upstream = [parent for parent in PARENTS[name] if _will_render(parent, shot, planned)]
        if status == "fresh" and upstream:
            status, reason = "stale", f"{', '.join(upstream)} will re-render"
        elif status == "fresh" and shot is None and needs_every_shot(name) and not versions.matches(name):
            status, reason = "stale", "a shot's input changed since it was made"
        if status != "fresh":
            planned.add((name, shot))
        plan.states.append(AssetState(name, shot, status, status != "fresh", reason))

    for shot in film.shots:
        for name in SHOT_ASSETS:
            visit(name, shot.id)
    for name in FILM_ASSETS:
        visit(name, None)
    for name, shot in sorted(planned, key=_order):
        if shot is None:
            plan.film_assets.append(name)
        else:
            plan.shot_runs.setdefault(shot, []).append(name)
    plan.shot_runs = {s.id: plan.shot_runs[s.id] for s in film.shots if s.id in plan.shot_runs}
    return plan


class RecordedVersions:
    """The latest recorded data versions, to tell whether a film-level asset was made from the
    inputs recorded now. Dagster's own check stops at 100 upstream partitions; this one reads each
    per-shot asset's versions in one query, so it stays exact (and linear) at any length."""

    def __init__(self, graph: FilmGraph, instance: dg.DagsterInstance, shots: list[str]):
        self.graph, self.instance, self.shots = graph, instance, shots
        self.versions: dict[tuple[str, str | None], str | None] = {}

    def matches(self, name: str) -> bool:
        recorded = self.latest(name)
        try:
            inputs = film_level_inputs(name, self, self.shots)
        except KeyError:  # an input was never made: Dagster calls that missing, not fresh
            return True
        return recorded == version_of(name, CODE_VERSIONS[name], inputs)

    def __getitem__(self, item: tuple[str, str | None]) -> str:
        name, shot = item
        if shot is not None and (name, shot) not in self.versions:
            self._load_partitions(name)
        version = self.versions.get(item) if shot is not None else self.latest(name)
        if version is None:
            raise KeyError(item)
        return version

    def latest(self, name: str) -> str | None:
        if (name, None) not in self.versions:
            is_source = name not in PARENTS
            record = self.instance.get_latest_data_version_record(self.graph.key(name), is_source)
            version = extract_data_version_from_entry(record.event_log_entry) if record else None
            self.versions[(name, None)] = version.value if version else None
        return self.versions[(name, None)]

    def _load_partitions(self, name: str) -> None:
        tags = self.instance.event_log_storage.get_latest_tags_by_partition(
            self.graph.key(name), DagsterEventType.ASSET_MATERIALIZATION, [DATA_VERSION_TAG])
        for shot in self.shots:
            self.versions[(name, shot)] = tags.get(shot, {}).get(DATA_VERSION_TAG)


def needs_every_shot(name: str) -> bool:
    """Whether a film-level asset reads per-shot assets (directly or through others)."""
    return any(parent in SHOT_ASSETS or (parent in PARENTS and needs_every_shot(parent)) for parent in PARENTS[name])


def _will_render(parent: str, shot: str | None, planned: set) -> bool:
    """A film-level asset reads every shot of a per-shot parent; a per-shot asset reads its own."""
    if parent in SHOT_ASSETS and shot is None:
        return any(name == parent for name, _ in planned)
    return (parent, shot) in planned


def _order(item: tuple[str, str | None]) -> tuple:
    order = SHOT_ASSETS + FILM_ASSETS
    return (item[1] or "", order.index(item[0]))
