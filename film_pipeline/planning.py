"""What is fresh, stale or missing, and the runs that bring a film up to date.

This is the one automation decision: `film render`, `film plan`, `film status` (and the sensor
that watches film.yaml) all call `plan_film`. A partition is stale when its recorded data version
is not the one its inputs' recorded versions make now (Dagster's own rule, which
`film_pipeline_tests/integration/test_planning.py` checks against Dagster's resolver), decided
from one query per asset; anything downstream of a partition that will re-render is planned too
(a clip whose storyboard re-renders is stale in effect even though its own inputs have not
changed yet), and so is a clip that continues from a clip that will.
"""

import json
from dataclasses import dataclass, field

import dagster as dg

from film_pipeline.dagster_internals import latest_versions_by_partition
from film_pipeline.defs.film_graph import FilmGraph
from film_pipeline.film import Film
from film_pipeline.graph import (ASSET_NAMES, FILM_ASSETS, PARENTS, SHOT_ASSETS, SOURCE, asset_order, film_level_inputs,
                                 is_per_shot, needs_every_shot)
from film_pipeline.store import artifact_key
from film_pipeline.integrity import Damage, StoredArtifacts
from film_pipeline.versions import artifact_version
from film_pipeline.records import latest_version


# `film render --force`: the steps of a run that render regardless of the store (JSON [[asset, shot]])
FORCE_TAG = "film/force"


def forced_tag(steps: list[tuple[str, str | None]]) -> dict[str, str]:
    """The run tag that makes these steps render regardless of the store (`film render --force`)."""
    return {FORCE_TAG: json.dumps(sorted([name, shot] for name, shot in steps))} if steps else {}


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


def plan_film(film: Film, graph: FilmGraph, instance: dg.DagsterInstance,
              artifacts: StoredArtifacts | None = None, forced: frozenset = frozenset()) -> Plan:
    """Statuses of every asset partition of the film as written now, and what to render.

    A partition is fresh when its recorded data version is the one its inputs' recorded versions
    make now (a data version hashes its stage's code version with its inputs' versions, so this is
    Dagster's own staleness, decided from one query per asset at any film length). Anything
    downstream of a partition that will re-render is planned too. With `artifacts`, a fresh
    partition whose current version is gone from the store is missing and re-renders (alone: its
    data version stays, so nothing downstream moves). `forced` steps ((asset, shot) pairs,
    `forced_steps`) render whatever the store holds.
    """
    registered = set(instance.get_dynamic_partitions(graph.partitions.name))
    plan = Plan(graph.slug)
    planned: set[tuple[str, str | None]] = set()  # what re-renders with a new version: its children follow
    repairs: set[tuple[str, str | None]] = set()  # what re-renders with the same version
    versions = RecordedVersions(graph, instance, [shot.id for shot in film.shots], artifacts.store if artifacts else None)
    previous_of = {later: shot for shot, laters in continuations(film).items() for later in laters}

    def visit(name: str, shot: str | None) -> None:
        previous = previous_of.get(shot) if name == "clip" else None
        if shot is not None and shot not in registered:
            status, reason = "missing", "new shot"
        else:
            status, reason = versions.status(name, shot, previous)
        upstream = [parent for parent in PARENTS[name] if _will_render(parent, shot, planned)]
        if previous is not None and ("clip", previous) in planned:
            upstream.append(f"clip[{previous}] (it continues from it)")
        if status == "fresh" and upstream:
            status, reason = "stale", f"{', '.join(upstream)} will re-render"
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
    """The latest recorded data versions of the film's assets and specs, each asset's (or spec's)
    partitions read in one query, and whether each partition was made from the inputs recorded
    now. Dagster's own check reads partition by partition and stops at 100 upstream partitions;
    this one stays exact, and linear, at any length."""

    def __init__(self, graph: FilmGraph, instance: dg.DagsterInstance, shots: list[str], store=None):
        self.graph, self.instance, self.shots, self.store = graph, instance, shots, store
        self.versions: dict[tuple[str, str | None], str | None] = {}

    def status(self, name: str, shot: str | None, previous: str | None = None) -> tuple[str, str]:
        """(fresh | stale | missing, why) of a recorded partition; `previous` is the shot a clip continues from."""
        recorded = self.get(name, shot)
        if recorded is None:
            return "missing", "never rendered"
        try:
            if shot is None and needs_every_shot(name):
                inputs = film_level_inputs(name, self, self.shots)
            else:
                inputs = [self[(parent, shot if is_per_shot(parent) else None)] for parent in PARENTS[name]]
                if previous is not None:
                    inputs.append(self[("clip", previous)])
        except KeyError as missing:
            return "stale", f"{_label(*missing.args[0])} was never made"
        if recorded == artifact_version(name, inputs):
            return "fresh", ""
        return "stale", self._why(name, shot, previous)

    def _why(self, name: str, shot: str | None, previous: str | None) -> str:
        """Which input changed since the partition was made, as far as the records tell."""
        if shot is None and needs_every_shot(name):
            return "a shot's input changed since it was made"
        specs = [parent for parent in PARENTS[name] if parent in SOURCE]
        made_from = self._spec_versions_made_from(name, shot)
        changed = [spec for spec in specs if made_from is not None and made_from.get(spec) != self.get(spec, shot)]
        if changed:
            return f"{', '.join(changed)} changed"
        inputs = [_label(p, shot) for p in PARENTS[name] if p not in SOURCE] + ([f"clip[{previous}]"] if previous else [])
        return f"{' or '.join(inputs) if made_from is not None else ', '.join(specs + inputs)} changed since it was made"

    def _spec_versions_made_from(self, name: str, shot: str | None) -> dict | None:
        """The shot's spec versions when the partition was made (its manifest keeps them)."""
        if shot is None:
            return None
        if self.store is None:
            from film_pipeline.store import open_store

            self.store = open_store()
        try:
            manifest = self.store.read_json(artifact_key(self.graph.slug, name, shot, self.get(name, shot), "json"))
        except (OSError, ValueError):
            return None
        return manifest.get("specs") or None

    def get(self, name: str, shot: str | None) -> str | None:
        try:
            return self[(name, shot)]
        except KeyError:
            return None

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
        recorded = latest_versions_by_partition(self.instance, self.graph.key(name), observed=name in SOURCE)
        for shot in self.shots:
            self.versions[(name, shot)] = recorded.get(shot)


def _gone(artifacts: StoredArtifacts, versions: "RecordedVersions", name: str, shot: str | None) -> Damage | None:
    try:
        return artifacts.missing(name, shot, versions[(name, shot)])
    except KeyError:  # never recorded: Dagster already calls it missing
        return None


def _label(name: str, shot: str | None) -> str:
    return f"{name}[{shot}]" if shot else name


def _will_render(parent: str, shot: str | None, planned: set) -> bool:
    """A film-level asset reads every shot of a per-shot parent; a per-shot asset reads its own."""
    if parent in SHOT_ASSETS and shot is None:
        return any(name == parent for name, _ in planned)
    return (parent, shot) in planned


def _order(item: tuple[str, str | None]) -> tuple:
    return (item[1] or "", asset_order(item[0]))
