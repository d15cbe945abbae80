"""What is fresh, stale or missing, and the runs that bring a film up to date.

This is the one automation decision: `film render`, `film plan`, `film status` (and the sensor
that watches film.yaml) all call `plan_film`. Dagster's resolver says which partitions are stale
against their recorded inputs; this module adds what Dagster leaves out: anything downstream of
a partition that will re-render is planned too (a clip whose storyboard re-renders is stale in
effect even though its own inputs have not changed yet).
"""

from dataclasses import dataclass, field

import dagster as dg

from film_pipeline.dagster_internals import StaleStatuses, latest_versions_by_partition
from film_pipeline.defs.film_graph import FilmGraph
from film_pipeline.film import Film
from film_pipeline.graph import ASSET_NAMES, FILM_ASSETS, PARENTS, SHOT_ASSETS, asset_order, film_level_inputs, needs_every_shot
from film_pipeline.integrity import Damage, StoredArtifacts
from film_pipeline.materialize import artifact_version
from film_pipeline.records import latest_version


class ForceError(ValueError):
    """A `film render --force` argument that names no shot or asset of the film."""


def forced_steps(film: Film, requested: list[str]) -> frozenset[tuple[str, str | None]]:
    """The steps `--force` arguments name, with everything downstream of them (which would
    otherwise reuse its stored version, made from the old bytes). Each argument is a shot
    (`lamp`: its every asset), an asset of a shot (`clip[lamp]`), a per-shot asset (`clip`:
    every shot's) or a film-level one (`final_cut`)."""
    shots = [s.id for s in film.shots]
    steps: set[tuple[str, str | None]] = set()
    for argument in requested:
        name, _, shot = argument.removesuffix("]").partition("[")
        if not shot and name in shots and name not in ASSET_NAMES:
            steps.update((asset, name) for asset in SHOT_ASSETS)
        elif name in SHOT_ASSETS and (shot in shots or not shot):
            steps.update((name, s) for s in ([shot] if shot else shots))
        elif name in FILM_ASSETS and not shot:
            steps.add((name, None))
        else:
            raise ForceError(f"--force {argument}: {film.path} has no such shot or asset; use a shot "
                             f"({', '.join(shots[:8])}{', ...' if len(shots) > 8 else ''}), ASSET[SHOT] or an asset "
                             f"({', '.join(ASSET_NAMES)})")
    return frozenset(_with_descendants(steps, shots, continuations(film)))


def continuations(film: Film) -> dict[str, list[str]]:
    """shot -> the shots that start on its last frame (`continues: true`): their clips read its clip."""
    found: dict[str, list[str]] = {}
    for shot in film.shots:
        if (previous := film.continued_from(shot.id)) is not None:
            found.setdefault(previous, []).append(shot.id)
    return found


def _with_descendants(steps: set, shots: list[str], continued: dict[str, list[str]]) -> set:
    found, frontier = set(steps), list(steps)
    while frontier:
        name, shot = frontier.pop()
        for child, parents in PARENTS.items():
            if name not in parents:
                continue
            below = [(child, None)] if child in FILM_ASSETS else [(child, shot)] if shot else [(child, s) for s in shots]
            for step in below:
                if step not in found:
                    found.add(step)
                    frontier.append(step)
        if name == "clip" and shot is not None:
            for step in (("clip", later) for later in continued.get(shot, [])):
                if step not in found:
                    found.add(step)
                    frontier.append(step)
    return found


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


def plan_film(film: Film, graph: FilmGraph, instance: dg.DagsterInstance, asset_graph,
              artifacts: StoredArtifacts | None = None, forced: frozenset = frozenset()) -> Plan:
    """Statuses of every asset partition of the film as written now, and what to render.

    With `artifacts`, a fresh partition whose current version is gone from the store is missing
    and re-renders (alone: its data version stays, so nothing downstream moves). `forced` steps
    ((asset, shot) pairs, `forced_steps`) render whatever the store holds.

    `asset_graph` is the code location's (`defs.resolve_asset_graph()`, or a sensor's
    `context.repository_def.asset_graph`).
    """
    statuses = StaleStatuses(instance, asset_graph)
    registered = set(instance.get_dynamic_partitions(graph.partitions.name))
    plan = Plan(graph.slug)
    planned: set[tuple[str, str | None]] = set()  # what re-renders with a new version: its children follow
    repairs: set[tuple[str, str | None]] = set()  # what re-renders with the same version
    versions = RecordedVersions(graph, instance, [shot.id for shot in film.shots])
    previous_of = {later: shot for shot, laters in continuations(film).items() for later in laters}

    def visit(name: str, shot: str | None) -> None:
        if shot is not None and shot not in registered:
            status, reason = "missing", "new shot"
        else:
            status = statuses.status(graph.key(name), shot)
            reason = "; ".join(f"{cause} {why}" for cause, why in statuses.root_causes(graph.key(name), shot)
                               ) if status == "stale" else ""
        upstream = [parent for parent in PARENTS[name] if _will_render(parent, shot, planned)]
        previous = previous_of.get(shot) if name == "clip" else None
        if previous is not None and ("clip", previous) in planned:
            upstream.append(f"clip[{previous}] (it continues from it)")
        if status == "fresh" and upstream:
            status, reason = "stale", f"{', '.join(upstream)} will re-render"
        elif status == "fresh" and shot is None and needs_every_shot(name) and not versions.matches(name):
            status, reason = "stale", "a shot's input changed since it was made"
        elif status == "fresh" and previous is not None and not _continues_current(graph, instance, shot, previous):
            status, reason = "stale", f"clip[{previous}], which it continues from, changed since it was made"
        if (name, shot) in forced:
            planned.add((name, shot))
            plan.states.append(AssetState(name, shot, status, True, "forced"))
            return
        if status == "fresh" and artifacts is not None and (gone := _gone(artifacts, versions, name, shot)):
            repairs.add((name, shot))
            status, reason = "missing", f"{gone.key} is gone from the store"
        elif status != "fresh":
            planned.add((name, shot))
        plan.states.append(AssetState(name, shot, status, status != "fresh", reason))

    for shot in film.shots:
        for name in SHOT_ASSETS:
            visit(name, shot.id)
    for name in FILM_ASSETS:
        visit(name, None)
    for name, shot in sorted(planned | repairs, key=_order):
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
        return recorded == artifact_version(name, inputs)

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
            self.versions[(name, None)] = latest_version(self.instance, self.graph.key(name), None,
                                                         is_source=name not in PARENTS)
        return self.versions[(name, None)]

    def _load_partitions(self, name: str) -> None:
        recorded = latest_versions_by_partition(self.instance, self.graph.key(name))
        for shot in self.shots:
            self.versions[(name, shot)] = recorded.get(shot)


def _continues_current(graph: FilmGraph, instance: dg.DagsterInstance, shot: str, previous: str) -> bool:
    """Whether a continuing shot's clip was made from the previous clip as recorded now (Dagster does
    not know this edge: a clip's parents are its own shot's)."""
    def recorded(name: str, partition: str, is_source: bool = False) -> str | None:
        return latest_version(instance, graph.key(name), partition, is_source)

    inputs = [recorded("storyboard", shot), recorded("motion_spec", shot, True), recorded("clip", previous)]
    return None in inputs or recorded("clip", shot) == artifact_version("clip", inputs)


def _gone(artifacts: StoredArtifacts, versions: "RecordedVersions", name: str, shot: str | None) -> Damage | None:
    try:
        return artifacts.missing(name, shot, versions[(name, shot)])
    except KeyError:  # never recorded: Dagster already calls it missing
        return None


def _will_render(parent: str, shot: str | None, planned: set) -> bool:
    """A film-level asset reads every shot of a per-shot parent; a per-shot asset reads its own."""
    if parent in SHOT_ASSETS and shot is None:
        return any(name == parent for name, _ in planned)
    return (parent, shot) in planned


def _order(item: tuple[str, str | None]) -> tuple:
    return (item[1] or "", asset_order(item[0]))
