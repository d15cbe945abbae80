"""The film.yaml sensor, which re-renders exactly what an edit changed, and Dagster's own
declarative automation sensor over the same assets (off by default).

The sensor makes the decision `film render` makes (`planning.plan_film`), in the daemon: read
film.yaml, add new shots to the partitions and retire deleted ones (their artifacts stay),
observe the spec sources, plan, and request one run per changed shot. The film-level run
(script, soundtrack, final cut) is requested once no shot is left to render and no run of the
film is in flight, so the cut is made once, from the finished shots.

Run keys carry the inputs' versions, so a tick that sees the same stale shot again (its run
is still queued, or it failed) does not request it twice; a failed shot waits for the next edit
or a re-execution from the UI, and never blocks the other shots.
"""

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from film_pipeline.dagster_internals import sensor_running
from film_pipeline.defs.film_graph import FilmGraph, sync_shot_partitions
from film_pipeline.defs.jobs import observe, tagged
from film_pipeline.film import FilmError, load_film
from film_pipeline.graph import ASSET_NAMES, FILM_SOURCES, SHOT_SOURCES
from film_pipeline.planning import Plan, plan_film
from film_pipeline.records import FINISHED, NOT_FINISHED, latest_version
from film_pipeline.settings import Settings

SETTLE_WAIT = 2.0  # seconds a tick waits for a fresh save to settle, rather than skip to the next tick


def sensor_definitions(graph: FilmGraph, settings: Settings, jobs: list) -> list[dg.SensorDefinition]:
    return [watch_film_yaml(graph, settings, jobs), automation_sensor(graph, settings)]


@dataclass
class WatchCursor:
    film_yaml: str = ""       # sha256 of film.yaml as last acted on
    checked_at: float = 0.0   # runs of the film that ended after this make the sensor plan again
    pending: bool = False     # runs were requested; plan again until the film is up to date
    generation: int = 0       # counts the saves of film.yaml the sensor has seen

    @classmethod
    def parse(cls, text: str | None) -> "WatchCursor":
        try:
            return cls(**json.loads(text)) if text else cls()
        except (TypeError, ValueError):
            return cls()

    def dump(self) -> str:
        return json.dumps(asdict(self))


def watch_film_yaml(graph: FilmGraph, settings: Settings, jobs: list) -> dg.SensorDefinition:
    @dg.sensor(name=graph.watch_sensor, minimum_interval_seconds=settings.sensor_interval,
               default_status=dg.DefaultSensorStatus.RUNNING,
               jobs=jobs,
               description=f"Watches {graph.film_dir / 'film.yaml'}: on save, renders exactly the shots the edit "
                           "changed, then the cut. Off while the film's automation sensor is on.")
    def on_edit(context: dg.SensorEvaluationContext):
        cursor = WatchCursor.parse(context.cursor)
        path = graph.film_dir / "film.yaml"
        try:
            digest = _digest(path)
        except OSError as error:
            return dg.SkipReason(f"cannot read {path}: {error.strerror}")
        changed = digest != cursor.film_yaml
        if changed and not _settled(path, digest, settings.settle_seconds):
            # an editor may still be writing: a half-saved file could drop shots from the partitions
            return dg.SkipReason("film.yaml changed just now; waiting for the save to finish")
        generation = cursor.generation + 1 if changed else cursor.generation
        runs_ended = _runs_ended_since(context.instance, graph, cursor.checked_at)
        if not (changed or cursor.pending or runs_ended):
            return dg.SkipReason("film.yaml unchanged and no run of the film ended")
        observe_only = sensor_running(context.instance, graph.automation_sensor)
        try:
            film = load_film(path)
        except FilmError as error:  # the error names file:line and the fix; nothing rendered is touched
            return dg.SensorResult(skip_reason=str(error), cursor=WatchCursor(digest, time.time(), False, generation).dump())
        added, removed = sync_shot_partitions(context.instance, graph.partitions.name, [s.id for s in film.shots])
        if changed or added or removed:
            observe(context.instance, graph)
        if not _still(path, digest):
            # saved again while this tick read it: the observation may mix two saves; the next
            # tick reads the new one whole (the cursor is left as it was)
            return dg.SkipReason("film.yaml changed while it was being read; reading it again on the next tick")
        if observe_only:
            return dg.SensorResult(skip_reason="observed film.yaml; Dagster's automation sensor requests the runs",
                                   cursor=WatchCursor(digest, time.time(), False, generation).dump())
        plan = plan_film(film, graph, context.instance)
        requests, waiting = _requests(context.instance, graph, plan, "sensor", generation)
        note = _summary(graph, added, removed, plan, requests, waiting)
        context.log.info(note)
        pending = bool(plan.shot_runs or plan.film_assets)
        # runs that ended during this tick (its own observation) were planned with: no second look
        return dg.SensorResult(run_requests=requests, cursor=WatchCursor(digest, time.time(), pending, generation).dump(),
                               skip_reason=None if requests else note)

    return on_edit


def automation_sensor(graph: FilmGraph, settings: Settings) -> dg.AutomationConditionSensorDefinition:
    """Dagster's own automation over the film's assets: off by default; on, it makes the film.yaml
    sensor observe only, and the assets' conditions choose the same runs."""
    return dg.AutomationConditionSensorDefinition(
        graph.automation_sensor, target=dg.AssetSelection.assets(*[graph.key(a) for a in ASSET_NAMES]),
        default_status=dg.DefaultSensorStatus.STOPPED, minimum_interval_seconds=settings.sensor_interval,
        description=f"Declarative automation for {graph.slug}; the film.yaml sensor keeps observing the specs.")


def _requests(instance: dg.DagsterInstance, graph: FilmGraph, plan: Plan, launched_by: str,
              generation: int) -> tuple[list, str]:
    """Shot runs now (except shots with a run in flight); the film run once no shot is left and
    nothing of the film is in flight. One shot to render and nothing in flight (a save that changed
    one shot): one run of the shot and then the film's assets, as `film render` would do them."""
    # queued runs too: under the daemon's run queue a run waits there for its pool slot, and a
    # shot requested on the last tick and not yet started must not be requested again
    in_flight = instance.get_run_records(dg.RunsFilter(tags={"film": graph.slug}, statuses=list(NOT_FINISHED)))
    busy_shots = {record.dagster_run.tags.get("dagster/partition") for record in in_flight}
    requests = plan.run_requests(graph)
    shot_requests = [r for r in requests if r.partition_key is not None]
    film_requests = [r for r in requests if r.partition_key is None]
    if len(shot_requests) == 1 and film_requests and not in_flight:
        request = _shot_then_film(graph, shot_requests[0], film_requests[0])
        return [tagged(request, graph, launched_by, "", _run_key(instance, graph, request, generation))], ""
    if shot_requests:
        return [tagged(r, graph, launched_by, "", _run_key(instance, graph, r, generation))
                for r in shot_requests if r.partition_key not in busy_shots], ""
    if not film_requests:
        return [], ""
    if in_flight:
        return [], "the cut waits for the film's runs in flight"
    return [tagged(film_requests[0], graph, launched_by, "", _run_key(instance, graph, film_requests[0], generation))], ""


def _shot_then_film(graph: FilmGraph, shot: dg.RunRequest, film: dg.RunRequest) -> dg.RunRequest:
    """One run of the edit job: the shot's assets, then the film's (Dagster orders the steps by their
    inputs, and a shot step that fails skips the cut, as the film run would wait for the next save).
    It saves the film run's own launch and the sensor tick between the two."""
    return shot.with_replaced_attrs(job_name=graph.edit_job, asset_selection=[*shot.asset_selection, *film.asset_selection])


def _run_key(instance: dg.DagsterInstance, graph: FilmGraph, request: dg.RunRequest, generation: int) -> str:
    """Which edit (the cursor's generation), what to render, and from which spec versions.

    A run that failed is not requested again for the same edit (the next save, or a re-execution
    in the UI, retries it); an edit reverted and made again is a new generation, so it renders.
    """
    shot = request.partition_key
    specs = SHOT_SOURCES if shot else FILM_SOURCES
    versions = [sorted(key.path[-1] for key in request.asset_selection)]
    for name in specs:
        version = latest_version(instance, graph.key(name), shot, is_source=True)
        # spelled as run keys have always spelled it, so a failed run's key still matches after an upgrade
        versions.append([name, str(dg.DataVersion(version)) if version else None])
    return f"{generation}:" + hashlib.sha256(json.dumps(versions).encode()).hexdigest()[:12]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _settled(path: Path, digest: str, settle_seconds: float) -> bool:
    """Whether film.yaml, as `digest` read it, was saved at least `settle_seconds` ago. A save
    younger than that is waited for here, up to SETTLE_WAIT, rather than left to the next tick
    (Dagster's daemon ticks every 5 s), and read if it has not changed meanwhile."""
    try:
        left = settle_seconds - (time.time() - path.stat().st_mtime)
    except OSError:
        return False
    if left <= 0:
        return True
    if left > SETTLE_WAIT:
        return False
    time.sleep(left)
    return _still(path, digest)


def _still(path: Path, digest: str) -> bool:
    try:
        return _digest(path) == digest
    except OSError:
        return False


def _runs_ended_since(instance: dg.DagsterInstance, graph: FilmGraph, since: float) -> bool:
    if not since:
        return False
    ended = instance.get_run_records(
        dg.RunsFilter(tags={"film": graph.slug}, updated_after=datetime.fromtimestamp(since, timezone.utc),
                   statuses=list(FINISHED)),
        limit=1)
    return bool(ended)


def _summary(graph: FilmGraph, added: list, removed: list, plan: Plan, requests: list, waiting: str) -> str:
    parts = []
    if added:
        parts.append(f"new shots: {', '.join(added)}")
    if removed:
        parts.append(f"retired shots (artifacts kept): {', '.join(removed)}")
    shots = [r.partition_key for r in requests if r.partition_key]
    if shots:
        parts.append(f"rendering shots: {', '.join(shots)}")
        if any(r.job_name == graph.edit_job for r in requests):
            parts.append(f"then cutting the film: {', '.join(plan.film_assets)}")
    elif any(r.partition_key is None for r in requests):
        parts.append(f"cutting the film: {', '.join(plan.film_assets)}")
    if waiting:
        parts.append(waiting)
    if not (plan.shot_runs or plan.film_assets):
        parts.append("the film is up to date")
    elif not requests and not waiting:
        parts.append("runs for these inputs were already requested (a failed run waits for an edit or a re-execution)")
    return "; ".join(parts)
