"""Automation in the UI: a sensor that re-renders exactly what an edit of film.yaml changed, and a
nightly schedule that renders everything stale with the night profile.

Both make the same decision `film render` makes (`planning.plan_film`), in the daemon:
read film.yaml, add new shots to the partitions and retire deleted ones (their artifacts stay),
observe the spec sources, plan, and request one run per changed shot. The film-level run
(script, soundtrack, final cut) is requested once no shot is left to render and no run of the
film is in flight, so the cut is made once, from the finished shots.

Run keys carry the inputs' versions, so a tick that sees the same stale shot again (its run
is still queued, or it failed) does not request it twice; a failed shot waits for the next edit
or a re-execution from the UI, and never blocks the other shots.
"""

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg
from dagster._core.definitions.data_version import extract_data_version_from_entry
from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES, RunsFilter

from film_pipeline.assets import FilmGraph, sync_shot_partitions
from film_pipeline.film import FilmError, NightlyRender, load_film
from film_pipeline.planning import QUIET, Plan, plan_film
from film_pipeline.specs import SHOT_SPECS

# How often the daemon looks at film.yaml (seconds); the UI shows new runs within this plus a tick.
SENSOR_INTERVAL = int(os.environ.get("FILM_SENSOR_INTERVAL", "10"))
# A changed film.yaml is read once it has been still this long (seconds).
SETTLE_SECONDS = float(os.environ.get("FILM_SENSOR_SETTLE_SECONDS", "1.0"))


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


def automation_sensor_name(graph: FilmGraph) -> str:
    return f"{graph.slug}__automation"


def watch_film_yaml(graph: FilmGraph) -> dg.SensorDefinition:
    @dg.sensor(name=f"{graph.slug}__on_edit", minimum_interval_seconds=SENSOR_INTERVAL,
               default_status=dg.DefaultSensorStatus.RUNNING,
               jobs=[graph.shot_job_def, graph.film_job_def],
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
        if changed and time.time() - path.stat().st_mtime < SETTLE_SECONDS:
            # an editor may still be writing: a half-saved file could drop shots from the partitions
            return dg.SkipReason("film.yaml changed just now; waiting for the save to finish")
        generation = cursor.generation + 1 if changed else cursor.generation
        runs_ended = _runs_ended_since(context.instance, graph, cursor.checked_at)
        if not (changed or cursor.pending or runs_ended):
            return dg.SkipReason("film.yaml unchanged and no run of the film ended")
        observe_only = _automation_sensor_running(context.instance, automation_sensor_name(graph))
        try:
            film = load_film(path)
        except FilmError as error:  # the error names file:line and the fix; nothing rendered is touched
            return dg.SensorResult(skip_reason=str(error), cursor=WatchCursor(digest, time.time(), False, generation).dump())
        added, removed = sync_shot_partitions(context.instance, graph.partitions.name, [s.id for s in film.shots])
        if changed or added or removed:
            observe(context.repository_def, context.instance, graph, launched_by="sensor")
        if not _still(path, digest):
            # saved again while this tick read it: the observation may mix two saves; the next
            # tick reads the new one whole (the cursor is left as it was)
            return dg.SkipReason("film.yaml changed while it was being read; reading it again on the next tick")
        if observe_only:
            return dg.SensorResult(skip_reason="observed film.yaml; Dagster's automation sensor requests the runs",
                                   cursor=WatchCursor(digest, time.time(), False, generation).dump())
        plan = plan_film(film, graph, context.instance, context.repository_def.asset_graph)
        requests, waiting = _requests(context.instance, graph, plan, "sensor", generation)
        note = _summary(added, removed, plan, requests, waiting)
        context.log.info(note)
        pending = bool(plan.shot_runs or plan.film_assets)
        # runs that ended during this tick (its own observation) were planned with: no second look
        return dg.SensorResult(run_requests=requests, cursor=WatchCursor(digest, time.time(), pending, generation).dump(),
                               skip_reason=None if requests else note)

    return on_edit


def nightly_render(graph: FilmGraph) -> dg.ScheduleDefinition:
    """`schedule:` in film.yaml (on when written, off otherwise): everything stale, night profile."""
    night = _night_settings(graph)

    @dg.schedule(name=f"{graph.slug}__nightly", cron_schedule=night.cron, execution_timezone=night.timezone,
                 job=graph.shot_job_def,
                 default_status=dg.DefaultScheduleStatus.RUNNING if night.configured else dg.DefaultScheduleStatus.STOPPED,
                 description=f"Draft by day, final by night: renders every stale shot of {graph.slug} with the "
                             f"`{night.profile}` profile into its own versions (the day's preview renders stay in "
                             "the store); the film's sensor then cuts them together.")
    def nightly(context: dg.ScheduleEvaluationContext):
        film = load_film(graph.film_dir)
        profile = film.schedule.profile if film.schedule else night.profile
        sync_shot_partitions(context.instance, graph.partitions.name, [s.id for s in film.shots])
        observe(context.repository_def, context.instance, graph, launched_by="schedule", profile=profile)
        plan = plan_film(film, graph, context.instance, context.repository_def.asset_graph)
        requests = [r for r in plan.run_requests(graph) if r.partition_key is not None]
        if not requests:
            return dg.SkipReason(f"every shot of {graph.slug} is up to date with the `{profile}` profile")
        return [_tagged(r, graph, "schedule", profile, f"{context.scheduled_execution_time:%Y-%m-%d}") for r in requests]

    return nightly


def automation_sensor(graph: FilmGraph) -> dg.AutomationConditionSensorDefinition:
    """Dagster's own automation over the film's assets: off by default; on, it makes the film.yaml
    sensor observe only, and the assets' conditions choose the same runs."""
    return dg.AutomationConditionSensorDefinition(
        automation_sensor_name(graph), target=dg.AssetSelection.assets(*[graph.key(a) for a in graph.asset_names]),
        default_status=dg.DefaultSensorStatus.STOPPED, minimum_interval_seconds=SENSOR_INTERVAL,
        description=f"Declarative automation for {graph.slug}; the film.yaml sensor keeps observing the specs.")


class ObservationError(RuntimeError):
    """film.yaml could not be read into spec versions."""


def observe(repository_def, instance: dg.DagsterInstance, graph: FilmGraph, launched_by: str, profile: str = "") -> None:
    """Record the spec versions of film.yaml as written now, in this process (a run in the UI)."""
    run_config = dict(QUIET)
    if profile:
        run_config["resources"] = {"render_settings": {"config": {"profile": profile}}}
    result = repository_def.get_job(graph.observe_job).execute_in_process(
        instance=instance, run_config=run_config, raise_on_error=False,
        tags={"film": graph.slug, "launched_by": launched_by})
    if not result.success:
        failure = next((e.event_specific_data.error for e in result.all_events if e.is_step_failure), None)
        cause = (failure.cause or failure) if failure else None
        raise ObservationError(f"could not read the specs of {graph.film_dir / 'film.yaml'}: "
                               f"{cause.message.strip() if cause else 'the observation failed'}")


def _requests(instance: dg.DagsterInstance, graph: FilmGraph, plan: Plan, launched_by: str,
              generation: int) -> tuple[list, str]:
    """Shot runs now (except shots with a run in flight); the film run once no shot is left and
    nothing of the film is in flight."""
    # queued runs too: under the daemon's run queue a run waits there for its pool slot, and a
    # shot requested on the last tick and not yet started must not be requested again
    in_flight = instance.get_run_records(RunsFilter(tags={"film": graph.slug}, statuses=NOT_FINISHED_STATUSES))
    busy_shots = {record.dagster_run.tags.get("dagster/partition") for record in in_flight}
    requests = plan.run_requests(graph)
    shot_requests = [r for r in requests if r.partition_key is not None]
    if shot_requests:
        return [_tagged(r, graph, launched_by, "", _run_key(instance, graph, r, generation))
                for r in shot_requests if r.partition_key not in busy_shots], ""
    film_requests = [r for r in requests if r.partition_key is None]
    if not film_requests:
        return [], ""
    if in_flight:
        return [], "the cut waits for the film's runs in flight"
    return [_tagged(film_requests[0], graph, launched_by, "", _run_key(instance, graph, film_requests[0], generation))], ""


def _tagged(request: dg.RunRequest, graph: FilmGraph, launched_by: str, profile: str, key: str) -> dg.RunRequest:
    """Tags that find the film's runs in the UI; the run key that keeps a tick from asking twice."""
    tags = {"film": graph.slug, "launched_by": launched_by, **({"film/profile": profile} if profile else {})}
    return request.with_replaced_attrs(run_key=f"{request.partition_key or 'film'}:{key}", tags={**request.tags, **tags})


def _run_key(instance: dg.DagsterInstance, graph: FilmGraph, request: dg.RunRequest, generation: int) -> str:
    """Which edit (the cursor's generation), what to render, and from which spec versions.

    A run that failed is not requested again for the same edit (the next save, or a re-execution
    in the UI, retries it); an edit reverted and made again is a new generation, so it renders.
    """
    shot = request.partition_key
    specs = list(SHOT_SPECS) if shot else ["film_spec", "score_spec", "character_spec"]
    versions = [sorted(key.path[-1] for key in request.asset_selection)]
    for name in specs:
        record = instance.get_latest_data_version_record(graph.key(name), True, shot)
        versions.append([name, str(extract_data_version_from_entry(record.event_log_entry)) if record else None])
    return f"{generation}:" + hashlib.sha256(json.dumps(versions).encode()).hexdigest()[:12]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _still(path: Path, digest: str) -> bool:
    try:
        return _digest(path) == digest
    except OSError:
        return False


def _runs_ended_since(instance: dg.DagsterInstance, graph: FilmGraph, since: float) -> bool:
    from datetime import datetime, timezone

    if not since:
        return False
    ended = instance.get_run_records(
        RunsFilter(tags={"film": graph.slug}, updated_after=datetime.fromtimestamp(since, timezone.utc),
                   statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]),
        limit=1)
    return bool(ended)


def _automation_sensor_running(instance: dg.DagsterInstance, name: str) -> bool:
    states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR,
                                           instigator_statuses={InstigatorStatus.RUNNING})
    return any(state.name == name for state in states)


@dataclass(frozen=True)
class _Night:
    cron: str
    profile: str
    timezone: str
    configured: bool


def _night_settings(graph: FilmGraph) -> _Night:
    """The schedule's cron is fixed when the code location loads; a broken film.yaml falls back to the default."""
    try:
        night = load_film(graph.film_dir).schedule
    except FilmError:
        night = None
    settings = night or NightlyRender()
    return _Night(settings.cron, settings.profile, settings.timezone, night is not None)


def _summary(added: list, removed: list, plan: Plan, requests: list, waiting: str) -> str:
    parts = []
    if added:
        parts.append(f"new shots: {', '.join(added)}")
    if removed:
        parts.append(f"retired shots (artifacts kept): {', '.join(removed)}")
    shots = [r.partition_key for r in requests if r.partition_key]
    if shots:
        parts.append(f"rendering shots: {', '.join(shots)}")
    elif any(r.partition_key is None for r in requests):
        parts.append(f"cutting the film: {', '.join(plan.film_assets)}")
    if waiting:
        parts.append(waiting)
    if not (plan.shot_runs or plan.film_assets):
        parts.append("the film is up to date")
    elif not requests and not waiting:
        parts.append("runs for these inputs were already requested (a failed run waits for an edit or a re-execution)")
    return "; ".join(parts)
