"""The film.yaml sensor, the nightly schedule and the declarative conditions, against a real instance."""

import dataclasses
import datetime as dt

import dagster as dg
import pytest
from dagster._core.definitions.data_version import extract_data_version_from_entry
from dagster._core.definitions.partitions.context import partition_loading_context

from film_pipeline.defs import sensors
from film_pipeline.defs.sensors import WatchCursor
from film_pipeline.definitions import build_definitions
from film_pipeline.home import get_instance
from film_pipeline.records import latest_version
from film_pipeline.defs.jobs import QUIET
from film_pipeline.render import open_session, render_film
from film_pipeline.settings import Settings
from film_pipeline.store import open_store
from film_pipeline_tests.conftest import edit_film, shot

SHOT_CHAIN = ["storyboard", "clip", "upscaled_clip"]
CUT = ["final_cut", "script", "timeline_export"]  # what a prompt edit changes of the film


class Watcher:
    """Ticks the film's sensor the way the daemon does, and launches what it asks for in-process."""

    def __init__(self, film_dir):
        self.film_dir, self.cursor = film_dir, None
        self.instance = get_instance()
        self.settle_seconds = 0.0  # these tests tick right after saving; the settle delay has a test of its own

    def tick(self):
        settings = dataclasses.replace(Settings.from_env(), settle_seconds=self.settle_seconds)
        defs, (graph,) = build_definitions([self.film_dir], settings)
        self.graph, self.defs = graph, defs
        sensor = defs.get_sensor_def(f"{graph.slug}__on_edit")
        with partition_loading_context(dynamic_partitions_store=self.instance):  # as the daemon's code server does
            data = sensor.evaluate_tick(dg.build_sensor_context(instance=self.instance, cursor=self.cursor,
                                                                definitions=defs))
        self.cursor = data.cursor or self.cursor  # the daemon keeps the cursor a tick leaves unset
        return data

    def requested(self, data) -> dict:
        return {r.partition_key: sorted(k.path[-1] for k in r.asset_selection) for r in getattr(data, "run_requests", data)}

    def launch(self, data) -> None:
        for request in getattr(data, "run_requests", data):
            result = self.defs.resolve_job_def(request.job_name).execute_in_process(
                instance=self.instance, partition_key=request.partition_key, asset_selection=request.asset_selection,
                run_config=QUIET, tags=request.tags, raise_on_error=False)
            assert result.success


def test_the_sensor_requests_exactly_the_edited_shot_then_the_cut_in_one_run(rendered):
    watcher = Watcher(rendered)
    first = watcher.tick()
    assert first.run_requests == [] and "up to date" in first.skip_message
    assert watcher.tick().skip_message == "film.yaml unchanged and no run of the film ended"

    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    data = watcher.tick()
    # the script lists every prompt: it is made again too
    assert watcher.requested(data) == {"b": sorted(SHOT_CHAIN + CUT)}
    (request,) = data.run_requests
    assert request.job_name == watcher.graph.edit_job and request.tags["launched_by"] == "sensor"
    again = watcher.tick()  # the run is not done yet: the same run key, so the daemon does not ask twice
    assert [r.run_key for r in again.run_requests] == [request.run_key]

    halfway = request.with_replaced_attrs(asset_selection=request.asset_selection[:1])  # the storyboard is done
    assert halfway.asset_selection[0].path[-1] == "storyboard"
    watcher.launch([halfway])
    rest = watcher.tick()  # what is left of the shot and the cut, not the whole shot again
    assert watcher.requested(rest) == {"b": sorted(["clip", "upscaled_clip"] + CUT)}
    assert rest.run_requests[0].run_key != request.run_key

    watcher.launch(rest)
    done = watcher.tick()
    assert done.run_requests == [] and "up to date" in done.skip_message
    assert not WatchCursor.parse(watcher.cursor).pending


def test_edits_to_two_shots_request_a_run_each_then_the_cut(rendered):
    watcher = Watcher(rendered)
    watcher.tick()
    edit_film(rendered, lambda doc: (shot(doc, "b").__setitem__("prompt", "a city street in the rain"),
                                     shot(doc, "c").__setitem__("prompt", "a lighthouse at dawn")))
    shots = watcher.tick()
    assert watcher.requested(shots) == {"b": sorted(SHOT_CHAIN), "c": sorted(SHOT_CHAIN)}
    assert {r.job_name for r in shots.run_requests} == {watcher.graph.shot_job}
    watcher.launch(shots)
    cut = watcher.tick()
    assert watcher.requested(cut) == {None: sorted(CUT)} and cut.run_requests[0].job_name == watcher.graph.film_job
    watcher.launch(cut)
    assert "up to date" in watcher.tick().skip_message


def test_a_shot_that_fails_in_the_edit_run_leaves_the_cut_as_it_was(rendered, monkeypatch):
    watcher = Watcher(rendered)
    watcher.tick()
    cut_before = latest_version(watcher.instance, watcher.graph.key("final_cut"), None, is_source=False)
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    (request,) = watcher.tick().run_requests
    from film_pipeline.stages import clip

    def broken(*args, **kwargs):
        raise RuntimeError("the motion model ran out of memory")

    monkeypatch.setattr(clip, "render", broken)

    def run(request) -> set[str]:
        result = watcher.defs.resolve_job_def(request.job_name).execute_in_process(
            instance=watcher.instance, partition_key="b", asset_selection=request.asset_selection, run_config=QUIET,
            tags=request.tags, raise_on_error=False)
        assert not result.success
        return {event.materialization.asset_key.path[-1] for event in result.get_asset_materialization_events()}

    made = run(request)  # the storyboard and the script (it needs no shot) are made; the cut waits
    assert made == {"storyboard", "script"}
    assert latest_version(watcher.instance, watcher.graph.key("final_cut"), None, is_source=False) == cut_before
    (rest,) = watcher.tick().run_requests  # what is left is asked for once, under a key of its own
    assert watcher.requested([rest]) == {"b": ["clip", "final_cut", "timeline_export", "upscaled_clip"]}
    assert not run(rest) & {"final_cut", "timeline_export"}
    again = watcher.tick()  # the same key: the daemon does not run it again before the next save
    assert [r.run_key for r in again.run_requests] == [rest.run_key]


def test_a_file_still_being_saved_is_not_read(rendered, monkeypatch):
    watcher = Watcher(rendered)
    watcher.tick()
    watcher.settle_seconds = sensors.SETTLE_WAIT + 30.0  # longer than a tick waits: left to a later tick
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    waiting = watcher.tick()
    assert waiting.run_requests == [] and "waiting for the save to finish" in waiting.skip_message
    watcher.settle_seconds = 0.0
    assert watcher.requested(watcher.tick()) == {"b": sorted(SHOT_CHAIN + CUT)}


class SensorClock:
    """The sensor's clock, `saved_ago` seconds after film.yaml's save: its waits are recorded and
    pass at once (and `while_waiting` runs in them), so the tick sees the same age on any machine."""

    def __init__(self, path, saved_ago: float, while_waiting=None):
        self.now, self.slept, self.while_waiting = path.stat().st_mtime + saved_ago, [], while_waiting

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.while_waiting:
            self.while_waiting()
        self.now += seconds


def test_a_fresh_save_is_waited_for_in_the_tick_and_read_once_it_settles(rendered, monkeypatch):
    watcher = Watcher(rendered)
    watcher.tick()
    watcher.settle_seconds = 1.5  # within what a tick waits: read in this tick, not the next one (5 s later)
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    clock = SensorClock(rendered / "film.yaml", saved_ago=0.5)
    monkeypatch.setattr(sensors, "time", clock)
    data = watcher.tick()
    assert clock.slept == [pytest.approx(1.0)], "the tick waited for the save to settle"
    assert watcher.requested(data) == {"b": sorted(SHOT_CHAIN + CUT)}


def test_a_save_again_while_the_tick_waits_is_left_to_the_next_tick(rendered, monkeypatch):
    watcher = Watcher(rendered)
    before = (watcher.tick(), watcher.cursor)[1]
    watcher.settle_seconds = 1.5
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    again = lambda: edit_film(rendered, lambda doc: shot(doc, "c").__setitem__("prompt", "a lighthouse at dawn"))  # noqa: E731
    clock, real_time = SensorClock(rendered / "film.yaml", saved_ago=0.5, while_waiting=again), sensors.time
    monkeypatch.setattr(sensors, "time", clock)
    waiting = watcher.tick()
    assert clock.slept == [pytest.approx(1.0)]
    assert waiting.run_requests == [] and "waiting for the save to finish" in waiting.skip_message
    assert watcher.cursor == before
    monkeypatch.setattr(sensors, "time", real_time)
    watcher.settle_seconds = 0.0
    assert watcher.requested(watcher.tick()) == {"b": sorted(SHOT_CHAIN), "c": sorted(SHOT_CHAIN)}


def test_a_save_during_the_tick_is_read_whole_on_the_next_tick(rendered, monkeypatch):
    watcher = Watcher(rendered)
    watcher.tick()
    before = watcher.cursor
    observe = sensors.observe

    def observe_then_save_again(*args, **kwargs):
        observe(*args, **kwargs)
        edit_film(rendered, lambda doc: shot(doc, "c").__setitem__("prompt", "a lighthouse at dawn"))

    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    monkeypatch.setattr(sensors, "observe", observe_then_save_again)
    torn = watcher.tick()
    assert torn.run_requests == [] and "changed while it was being read" in torn.skip_message
    assert watcher.cursor == before
    monkeypatch.setattr(sensors, "observe", observe)
    data = watcher.tick()
    assert watcher.requested(data) == {"b": sorted(SHOT_CHAIN), "c": sorted(SHOT_CHAIN)}
    assert WatchCursor.parse(watcher.cursor).generation == WatchCursor.parse(before).generation + 1


def test_a_shot_run_not_yet_started_is_not_requested_again_by_the_next_save(rendered):
    watcher = Watcher(rendered)
    watcher.tick()
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    (request,) = watcher.tick().run_requests
    # created by the daemon and waiting (queued, then not started) for the gpu pool's slot; only a
    # run launched from a code location can be queued, so this one stays "not started"
    run = watcher.instance.create_run_for_job(
        watcher.defs.resolve_job_def(request.job_name), run_config=QUIET,
        tags={**request.tags, "dagster/partition": "b"}, asset_selection=frozenset(request.asset_selection))
    assert watcher.instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.NOT_STARTED
    edit_film(rendered, lambda doc: shot(doc, "c").__setitem__("prompt", "a lighthouse at dawn"))
    assert watcher.requested(watcher.tick()) == {"c": sorted(SHOT_CHAIN)}


def test_a_narration_edit_requests_the_voice_then_soundtrack_and_cut_in_one_run(rendered):
    watcher = Watcher(rendered)
    watcher.tick()
    edit_film(rendered, lambda doc: shot(doc, "c").__setitem__("narration", "Good evening."))
    data = watcher.tick()
    assert watcher.requested(data) == {"c": ["final_cut", "script", "soundtrack", "subtitles", "timeline_export", "voiceover"]}
    watcher.launch(data)
    assert "up to date" in watcher.tick().skip_message


def test_deleted_and_new_shots_update_the_partitions_and_keep_artifacts(rendered):
    watcher = Watcher(rendered)
    watcher.tick()
    kept = sorted(p.name for p in (open_store().root / "mini" / "clip" / "c").iterdir())

    def change(doc):
        del doc["shots"][2]
        doc["shots"].append({"id": "d", "prompt": "a forest at noon", "duration": 1.0})
    edit_film(rendered, change)
    data = watcher.tick()
    assert sorted(watcher.instance.get_dynamic_partitions("mini__shots")) == ["a", "b", "d"]
    assert watcher.requested(data) == {"d": sorted(SHOT_CHAIN + ["voiceover", "soundtrack", "subtitles"] + CUT)}
    assert sorted(p.name for p in (open_store().root / "mini" / "clip" / "c").iterdir()) == kept


def test_a_broken_film_yaml_is_reported_and_requests_nothing(rendered):
    watcher = Watcher(rendered)
    watcher.tick()
    text = (rendered / "film.yaml").read_text()
    (rendered / "film.yaml").write_text(text.replace("duration: 1.5", "duration: soon"))
    data = watcher.tick()
    assert data.run_requests == [] and "film.yaml:" in data.skip_message and "duration" in data.skip_message
    assert sorted(watcher.instance.get_dynamic_partitions("mini__shots")) == ["a", "b", "c"]


def test_the_nightly_schedule_renders_every_stale_shot_with_the_night_profile(rendered):
    edit_film(rendered, lambda doc: doc.__setitem__("schedule", {"cron": "30 3 * * *", "profile": "tiny"}))
    defs, (graph,) = build_definitions([rendered])
    schedule = defs.get_schedule_def("mini__nightly")
    assert schedule.cron_schedule == "30 3 * * *" and schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    context = dg.build_schedule_context(instance=get_instance(), repository_def=defs.get_repository_def(),
                                        scheduled_execution_time=dt.datetime(2026, 11, 22, 3, 30, tzinfo=dt.timezone.utc))
    with partition_loading_context(dynamic_partitions_store=get_instance()):
        data = schedule.evaluate_tick(context)
    assert sorted(r.partition_key for r in data.run_requests) == ["a", "b", "c"]
    assert {r.tags["film/profile"] for r in data.run_requests} == {"tiny"}
    assert {r.run_key for r in data.run_requests} == {"a:2026-11-22", "b:2026-11-22", "c:2026-11-22"}
    night = _spec_version(get_instance(), graph, "a")
    day = open_session(rendered, "preview")
    day.defs.resolve_job_def(day.graph.observe_job).execute_in_process(instance=day.instance, run_config=QUIET)
    assert _spec_version(day.instance, day.graph, "a") != night  # the night renders into versions of its own


def _spec_version(instance, graph, shot_id):
    record = instance.get_latest_data_version_record(graph.key("visual_spec"), True, shot_id)
    return extract_data_version_from_entry(record.event_log_entry)


def test_without_a_schedule_key_the_nightly_schedule_is_off(rendered):
    defs, _ = build_definitions([rendered])
    schedule = defs.get_schedule_def("mini__nightly")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED and schedule.cron_schedule == "0 2 * * *"


@pytest.mark.parametrize("schedule, says", [({"cron": "every night"}, "not a cron schedule"),
                                            ({"profile": "ful"}, "unknown profile"),
                                            ({"timezone": "Mars/Olympus"}, "unknown time zone")])
def test_a_bad_schedule_names_the_line(rendered, schedule, says):
    from film_pipeline.film import FilmError, load_film

    edit_film(rendered, lambda doc: doc.__setitem__("schedule", schedule))
    with pytest.raises(FilmError, match=says) as error:
        load_film(rendered)
    assert "film.yaml:" in str(error.value)


def test_declarative_automation_makes_the_same_choice_as_the_sensor(rendered):
    instance = get_instance()
    session = open_session(rendered)
    selection = dg.AssetSelection.assets(*[session.graph.key(a) for a in session.graph.asset_names])
    cursor = dg.evaluate_automation_conditions(session.defs, instance, asset_selection=selection).cursor
    edit_film(rendered, lambda doc: shot(doc, "a").__setitem__("camera", "push_in"))
    render_session = open_session(rendered)
    render_session.defs.resolve_job_def(render_session.graph.observe_job).execute_in_process(instance=instance, run_config=QUIET)
    result = dg.evaluate_automation_conditions(session.defs, instance, asset_selection=selection, cursor=cursor)
    assert _requested(result, instance) == {("script", None), ("clip", "a"), ("upscaled_clip", "a")}
    render_film(rendered)  # the sensor's way: renders clip, upscaled_clip, then the cut
    result = dg.evaluate_automation_conditions(session.defs, instance, asset_selection=selection, cursor=result.cursor)
    assert _requested(result, instance) == set()  # already done: nothing more


def _requested(result, instance) -> set:
    found = set()
    with partition_loading_context(effective_dt=dt.datetime.now(dt.timezone.utc), dynamic_partitions_store=instance):
        for item in result.results:
            for key in item.true_subset.expensively_compute_asset_partitions():
                found.add((key.asset_key.path[-1], key.partition_key))
    return found


def test_model_assets_share_the_gpu_pool_and_runs_stay_in_one_process(rendered):
    instance = get_instance()
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    session = open_session(rendered)
    pools = {node.name: node.definition.pool for node in session.defs.resolve_job_def(session.graph.shot_job).graph.nodes}
    assert {pools[f"mini__{a}"] for a in ("storyboard", "clip", "upscaled_clip", "voiceover")} == {"gpu"}
    film_job = session.defs.resolve_job_def(session.graph.film_job)
    assert {n.name: n.definition.pool for n in film_job.graph.nodes}["mini__final_cut"] is None
    for job in (session.graph.shot_job, session.graph.film_job):
        assert session.defs.resolve_job_def(job).executor_def.name == "in_process"


def test_a_killed_renders_run_and_gpu_slot_do_not_block_the_next_render(rendered):
    import threading

    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

    instance = get_instance()
    dead = instance.add_run(DagsterRun(job_name="mini__render_shot", run_id="0" * 8 + "-dead-run",
                                       status=DagsterRunStatus.STARTED, tags={"launched_by": "film-cli", "film": "mini"}))
    instance.event_log_storage.claim_concurrency_slot("gpu", dead.run_id, "mini__clip")
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(render_film(rendered)), daemon=True)
    worker.start()
    worker.join(timeout=900)  # a hang, not a slow machine: a loaded CI runner took over 180 s for this render
    assert outcome, "the render waited for the dead run's gpu slot"
    assert not outcome[0].failures and ("clip", "b") in outcome[0].materialized
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert instance.event_log_storage.get_concurrency_info("gpu").claimed_slots == []
