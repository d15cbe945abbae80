"""Bringing a film up to date through the persistent Dagster instance the UI reads.

`render_film` validates film.yaml, registers new shots and retires deleted ones, observes the
spec sources (a shot never rendered is observed just before its run, so a feature's first render
starts at once), asks the planner what is stale or missing, and executes the plan's run requests
(one run per shot, then one for script, soundtrack and final cut): in this process, so models
stay loaded across shots, or, with FILM_BROKER set, several runs at once whose steps the Celery
workers execute (film_pipeline.workers). A shot that fails does not stop the others; the
film-level run waits until every shot is good. Only one render runs per $FILM_HOME at a time.
"""

import fcntl
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from film_pipeline.dagster_internals import reconstructable_job
from film_pipeline.defs.film_graph import FilmGraph, sync_shot_partitions
from film_pipeline.defs.jobs import QUIET, observe
from film_pipeline import progress
from film_pipeline.film import Film, load_film
from film_pipeline.graph import needs_every_shot
from film_pipeline.home import REPO_ROOT, film_home, get_instance, register_film
from film_pipeline.integrity import StoredArtifacts
from film_pipeline.observation import SpecBacklog, never_rendered
from film_pipeline.planning import Plan, forced_steps, forced_tag, plan_film
from film_pipeline.profiles import ProfileError, profile_names
from film_pipeline.records import IN_PROGRESS, NOT_FINISHED
from film_pipeline.settings import Settings
from film_pipeline.store import ArtifactStore, open_store
from film_pipeline.workers import WorkerSettings, require_workers

RUN_FAILED = ("run", "the run failed")
MESSAGE_LIMIT = 600  # characters of a failure message the summary shows


class RenderBusyError(RuntimeError):
    """Another render holds this FILM_HOME."""


@dataclass
class Session:
    """One film as `film` sees it: film.yaml, its names in Dagster, the instance, the settings, and
    its Dagster definitions, built only when a run needs them (planning reads records alone)."""

    film: Film
    graph: FilmGraph
    instance: dg.DagsterInstance
    settings: Settings
    _defs: dg.Definitions | None = None

    @property
    def defs(self) -> dg.Definitions:
        if self._defs is None:
            from film_pipeline.definitions import build_definitions

            self._defs = build_definitions([self.film.path.parent], self.settings)[0]
        return self._defs

    @property
    def profile(self) -> str:
        return self.settings.profile

    @property
    def workers(self) -> WorkerSettings:
        return self.settings.workers


@dataclass
class RenderResult:
    film: str
    plan: Plan
    materialized: list[tuple[str, str | None]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (what, error message)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (check, what it found): failed WARN checks
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (what, why): left to a run in flight
    final_cut: Path | None = None
    subtitles: dict[str, Path] | None = None  # {"srt": path, "vtt": path} beside the cut (None: `subtitles: false`)
    run_ids: list[str] = field(default_factory=list)  # the Dagster runs this render made, in order


@dataclass
class RunOutcome:
    """What one run materialized, failed at and warned about (small enough to pass between processes)."""
    materialized: list[tuple[str, str | None]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    run_id: str | None = None


def open_session(film_dir: Path | str, profile: str | None = None) -> Session:
    film = load_film(film_dir)
    if profile and profile not in profile_names():
        raise ProfileError(f"unknown profile `{profile}`; known profiles: {', '.join(profile_names())}")
    return Session(film, FilmGraph.of(film.path.parent), get_instance(), Settings.from_env(profile or ""))


def observe_specs(session: Session) -> SpecBacklog:
    """Record the spec versions of film.yaml as the session read it (what it plans with). A shot
    never rendered is missing whatever its specs say: the backlog returned records its specs
    (a render, before its run; plan and status leave them to the render)."""
    later = never_rendered(session.instance, session.graph, [s.id for s in session.film.shots])
    return observe(session.instance, session.graph, session.profile, later, film=session.film)


def current_plan(film_dir: Path | str, profile: str | None = None) -> tuple[Session, Plan]:
    """Observe film.yaml and plan, without rendering or changing the shot list (for plan/status)."""
    session = open_session(film_dir, profile)
    observe_specs(session)
    return session, plan_session(session)


def plan_session(session: Session, forced: frozenset = frozenset()) -> Plan:
    """The plan, with every current version's files looked up in the store (a listing, no hashing)."""
    artifacts = StoredArtifacts(open_store(), session.graph.slug)
    return plan_film(session.film, session.graph, session.instance, artifacts=artifacts, forced=forced)


@contextmanager
def render_lock() -> Iterator[None]:
    path = film_home() / "render.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RenderBusyError(f"another render is running on {film_home()} (pid {holder}); "
                                  f"wait for it to finish, or use another FILM_HOME") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)


def render_film(film_dir: Path | str, profile: str | None = None,
                on_run: Callable[[str, int], None] | None = None,
                on_plan: Callable[[Plan], None] | None = None, force: list[str] = (),
                on_step: "progress.Listener | None" = None) -> RenderResult:
    """Render whatever is missing or out of date, and whatever `force` names (`forced_steps`);
    `on_run(label, steps)` reports each finished run, `on_step(started|finished, asset, shot)` each
    step this process runs. Shots a run of the UI's sensor or schedule
    is rendering now are left to it (`result.skipped`), and so is the cut."""
    with render_lock():
        session = open_session(film_dir, profile)
        forced = forced_steps(session.film, list(force))
        release_abandoned_runs(session.instance)
        register_film(session.film.path.parent)
        sync_shot_partitions(session.instance, session.graph.partitions.name, [s.id for s in session.film.shots])
        backlog = observe_specs(session)  # a never-rendered shot's specs are recorded before its run
        plan = plan_session(session, forced)
        if on_plan:
            on_plan(plan)
        result = RenderResult(session.graph.slug, plan)
        requests = _leave_in_flight_to_their_runs(session, plan.run_requests(session.graph), result)
        requests = [_with_forced(request, forced) for request in requests]
        # with workers: check that each queue has one before waiting on it (or the render would hang)
        workers = session.workers
        in_flight = workers.runs_in_flight(require_workers(workers)) if workers.enabled and requests else 1
        # No thread imports the steps' backends ahead of them (tried, 40df691): a thread importing
        # while a step started ffmpeg through imageio-ffmpeg (a Popen with preexec_fn, which takes the
        # import lock in the fork) deadlocked a render. ffmpeg now starts without one (media.py), but
        # such a thread would still take the GIL from the steps it means to speed up
        with progress.listening(on_step):
            _execute(session, requests, in_flight, result, on_run, backlog.before_run)
        _raise_if_interrupted(result)
        backlog.record_all()  # shots left unrendered (a failure, a run in flight) are observed all the same
        result.final_cut = None if result.failures or result.skipped else final_cut_path(session)
        result.subtitles = subtitles_paths(session) if result.final_cut else None
        return result


def _execute(session: Session, requests: list[dg.RunRequest], in_flight: int, result: RenderResult,
             on_run: Callable[[str, int], None] | None, before_run: Callable[[str | None], None]) -> None:
    """The shot runs, then the film's run (without what needs every shot, if a shot failed);
    `before_run(shot)` (None: the film's run) comes before each run starts."""
    film_requests = [r for r in requests if r.partition_key is None]
    shot_requests = [r for r in requests if r.partition_key is not None]
    for request, outcome in _runs(session, shot_requests, in_flight, before_run):
        _record(outcome, result)
        _raise_if_interrupted(result)  # Ctrl-C stops the render, not only the step it landed in
        if on_run:
            on_run(f"shot {request.partition_key}", len(request.asset_selection))
    for request in film_requests:
        if result.failures:
            # the soundtrack and the cut need every shot: they wait for the next render
            keep = [key for key in request.asset_selection if not needs_every_shot(key.path[-1])]
            if not keep:
                break
            request = request.with_replaced_attrs(asset_selection=keep)
        before_run(None)
        _record(_run(session, request), result)
        if on_run:
            on_run("film", len(request.asset_selection))


def _with_forced(request: dg.RunRequest, forced: frozenset) -> dg.RunRequest:
    """The run tag that makes the request's forced steps render regardless of the store."""
    steps = [(name, shot) for name, shot in forced if shot == request.partition_key]
    return request.with_replaced_attrs(tags={**request.tags, **forced_tag(steps)}) if steps else request


def runs_in_flight(session: Session) -> list:
    """Render runs of this film that another launcher (the UI's sensor, schedule or a re-execution)
    has queued or started and not finished."""
    graph = session.graph
    records = session.instance.get_run_records(dg.RunsFilter(tags={"film": graph.slug}, statuses=list(NOT_FINISHED)))
    return [r.dagster_run for r in records if r.dagster_run.job_name in graph.render_jobs
            and r.dagster_run.tags.get("launched_by") != "film-cli"]


def _leave_in_flight_to_their_runs(session: Session, requests: list[dg.RunRequest],
                                   result: RenderResult) -> list[dg.RunRequest]:
    """Skip shots another run is rendering now (the store would make the second render a copy at
    best), and the film-level run while any of the film's runs is in flight, as the sensor does."""
    runs = runs_in_flight(session)
    if not runs:
        return requests
    busy = {run.tags.get("dagster/partition"): run for run in runs}
    kept = []
    for request in requests:
        shot = request.partition_key
        run = busy.get(shot) if shot is not None else runs[0]
        if run is None:
            kept.append(request)
            continue
        what = f"shot {shot}" if shot is not None else "the film's " + ", ".join(k.path[-1] for k in request.asset_selection)
        why = (f"run {run.run_id[:8]} ({run.tags.get('launched_by', 'the UI')}) is rendering it" if shot is not None
               else f"it waits for run {run.run_id[:8]} ({run.tags.get('launched_by', 'the UI')}) in flight")
        result.skipped.append((what, why))
    return kept


def _raise_if_interrupted(result: RenderResult) -> None:
    """Ctrl-C lands in the step that was running, which fails with Dagster's interruption error:
    it is the user's interrupt, not a failed step (`film` says how to resume)."""
    if any("DagsterExecutionInterruptedError" in message or message.startswith("KeyboardInterrupt")
           for _, message in result.failures):
        raise KeyboardInterrupt


def release_abandoned_runs(instance: dg.DagsterInstance) -> None:
    """A render that was killed leaves its run "started" and its `gpu` pool slot claimed, and the
    next render would wait for that slot forever. Holding the render lock, no other `film render`
    is alive: its runs are marked failed, and slots held by runs no longer in progress are freed."""
    for record in instance.get_run_records(dg.RunsFilter(tags={"launched_by": "film-cli"}, statuses=list(IN_PROGRESS))):
        instance.report_run_failed(record.dagster_run, "the `film render` that ran it stopped (killed or crashed)")
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    for pool in storage.get_concurrency_keys():
        for slot in storage.get_concurrency_info(pool).claimed_slots:
            run = instance.get_run_by_id(slot.run_id)
            if run is None or run.status not in IN_PROGRESS:
                storage.free_concurrency_slots_for_run(slot.run_id)


def _runs(session: Session, requests: list[dg.RunRequest], in_flight: int,
          before_run: Callable[[str | None], None]) -> Iterator[tuple[dg.RunRequest, RunOutcome]]:
    """Each shot run as it ends: one after another in this process (models stay loaded), or, with
    FILM_BROKER set, `in_flight` at once, their steps spread over the Celery workers. Each run
    starts (is submitted) after `before_run(shot)`."""
    if not session.workers.enabled:
        for request in requests:
            before_run(request.partition_key)
            yield request, _run(session, request)
        return
    # a process per orchestrating run: Dagster's run setup reconfigures logging, which deadlocks
    # two runs in threads of one process; spawned, not forked, as the process holds threads
    waiting, running, slots = iter(requests), {}, max(1, min(in_flight, len(requests)))
    with ProcessPoolExecutor(max_workers=slots, mp_context=multiprocessing.get_context("spawn")) as pool:

        def start_next() -> None:
            request = next(waiting, None)
            if request is not None:
                before_run(request.partition_key)
                running[pool.submit(_run_on_workers, request, session.graph.slug, session.profile)] = request

        for _ in range(slots):
            start_next()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                request = running.pop(future)
                start_next()
                yield request, future.result()


def _run(session: Session, request: dg.RunRequest) -> RunOutcome:
    if session.workers.enabled:
        return _run_on_workers(request, session.graph.slug, session.profile)
    return _outcome(session.defs.resolve_job_def(request.job_name).execute_in_process(
        instance=session.instance, partition_key=request.partition_key, asset_selection=request.asset_selection,
        run_config=QUIET, raise_on_error=False,
        tags={**request.tags, "film": session.graph.slug, "launched_by": "film-cli"}))


def _run_on_workers(request: dg.RunRequest, film: str, profile: str) -> RunOutcome:
    """Orchestrate one run whose steps the Celery workers execute; the job is rebuilt from its
    module, as each worker rebuilds it."""
    tags = {**request.tags, "film": film, "launched_by": "film-cli",
            **({"dagster/partition": request.partition_key} if request.partition_key is not None else {})}
    run_config = {**QUIET, **({"resources": {"render_settings": {"config": {"profile": profile}}}} if profile else {})}
    job = reconstructable_job("film_pipeline.definitions", "current_definitions", str(REPO_ROOT), request.job_name)
    with get_instance() as instance:
        return _outcome(dg.execute_job(job, instance=instance, run_config=run_config, tags=tags,
                                       asset_selection=list(request.asset_selection), raise_on_error=False))


def _record(outcome: RunOutcome, result: RenderResult) -> None:
    if outcome.run_id:
        result.run_ids.append(outcome.run_id)
    result.materialized.extend(outcome.materialized)
    result.failures.extend(outcome.failures)
    result.warnings.extend(outcome.warnings)


def _outcome(run) -> RunOutcome:
    outcome = RunOutcome(run_id=run.run_id)
    for event in run.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        outcome.materialized.append((materialization.asset_key.path[-1], materialization.partition))
    checks_failed = []
    for check in run.get_asset_check_evaluations():
        if not check.passed:
            label = f"{check.asset_key.path[-1]}{f'[{check.partition}]' if check.partition else ''} check {check.check_name}"
            found = (label, str(check.metadata["summary"].value if "summary" in check.metadata else check.description))
            (checks_failed if check.severity == dg.AssetCheckSeverity.ERROR else outcome.warnings).append(found)
    step_failures = _failure_messages(run)
    if checks_failed and step_failures == [RUN_FAILED]:
        step_failures = []  # the run failed because a blocking check did; the check says why
    outcome.failures = checks_failed + step_failures
    return outcome


def _failure_messages(run) -> list[tuple[str, str]]:
    failures = []
    for event in run.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            cause = error.cause or error
            label = event.step_key + (f"[{run.dagster_run.tags.get('dagster/partition')}]"
                                      if run.dagster_run.tags.get("dagster/partition") else "")
            failures.append((label, concise(cause.message)))  # the message starts with the exception class
    return failures or ([RUN_FAILED] if not run.success else [])


def concise(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """An error message for a person: a tool's banner and stream listings cut, at most `limit`
    characters (the whole error stays in Dagster's run log)."""
    from film_pipeline.media import without_ffmpeg_banner

    text = without_ffmpeg_banner(message.strip())
    if len(text) <= limit:
        return text
    return text[: limit - 40].rstrip() + " … (the whole error is in the run's log)"


def _final_cut_video(session: Session, store: ArtifactStore) -> dict | None:
    """The stored video of the film's current final cut: {key, sha256, ...} (None before the first cut)."""
    manifest_key = session.graph.latest_manifest_key(session.instance, "final_cut", None)
    return store.read_json(manifest_key)["files"]["video"] if manifest_key else None


def final_cut_key(session: Session) -> str | None:
    video = _final_cut_video(session, open_store())
    return video["key"] if video else None


def final_cut_path(session: Session) -> Path | None:
    """A local copy of the current final cut (downloaded from the object store if need be)."""
    store = open_store()
    video = _final_cut_video(session, store)
    return store.local_path(video["key"], video["sha256"]) if video else None


def subtitles_paths(session: Session) -> dict[str, Path] | None:
    """Local copies of the current cut's SRT and WebVTT subtitles (None where the film has them off)."""
    store = open_store()
    manifest_key = session.graph.latest_manifest_key(session.instance, "final_cut", None)
    files = store.read_json(manifest_key)["files"] if manifest_key else {}
    if "subtitles" not in files:
        return None
    return {kind: store.local_path(files[role]["key"], files[role]["sha256"])
            for kind, role in (("srt", "subtitles"), ("vtt", "captions"))}
