"""Pins the behaviour of each private Dagster API behind film_pipeline/dagster_internals.py, on a
real instance: a Dagster upgrade that moves one fails here, by name."""

from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteInstigatorOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import InstigatorState, InstigatorStatus, InstigatorType, SensorInstigatorData
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from film_pipeline import dagster_internals as internals
from film_pipeline.records import latest_version
from film_pipeline.render import observe_specs, open_session
from film_pipeline_tests.conftest import edit_film, shot


def test_stale_statuses_say_fresh_then_stale_with_the_input_that_changed(rendered):
    session = open_session(rendered)
    asset_graph = session.defs.resolve_asset_graph()
    storyboard = session.graph.key("storyboard")
    assert internals.StaleStatuses(session.instance, asset_graph).status(storyboard, "b") == "fresh"
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    observe_specs(open_session(rendered))  # a session observes film.yaml as it read it
    statuses = internals.StaleStatuses(session.instance, asset_graph)
    assert statuses.status(storyboard, "b") == "stale"
    assert statuses.root_causes(storyboard, "b") == [("visual_spec", "has a new data version")]
    assert statuses.status(storyboard, "a") == "fresh"
    # Dagster looks one step up only: the cut is fresh to it until the storyboard re-renders, which is
    # why planning.plan_film adds everything downstream of a partition that will re-render
    assert statuses.status(session.graph.key("clip"), "b") == "fresh"
    assert statuses.status(session.graph.key("final_cut"), None) == "fresh"


def test_latest_versions_by_partition_match_each_partitions_latest_record(rendered):
    session = open_session(rendered)
    key = session.graph.key("clip")
    versions = internals.latest_versions_by_partition(session.instance, key)
    assert versions == {s: latest_version(session.instance, key, s, is_source=False) for s in ("a", "b", "c")}
    assert all(len(v) == 20 for v in versions.values())


def test_sensor_running_reads_the_instances_sensor_state(rendered):
    session = open_session(rendered)
    name = session.graph.automation_sensor
    assert not internals.sensor_running(session.instance, name)
    location = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="film_pipeline.definitions", attribute="defs"))
    origin = RemoteInstigatorOrigin(RemoteRepositoryOrigin(location, "__repository__"), name)
    session.instance.add_instigator_state(InstigatorState(origin, InstigatorType.SENSOR, InstigatorStatus.RUNNING,
                                                          SensorInstigatorData()))
    assert internals.sensor_running(session.instance, name)
    assert not internals.sensor_running(session.instance, session.graph.watch_sensor)


def test_a_reconstructable_job_is_rebuilt_from_the_module_by_name(rendered):
    session = open_session(rendered)
    from film_pipeline.home import REPO_ROOT

    job = internals.reconstructable_job("film_pipeline.definitions", "current_definitions", str(REPO_ROOT),
                                        session.graph.shot_job)
    assert job.get_definition().name == session.graph.shot_job
    assert job.get_python_origin().repository_origin.code_pointer.fn_name == "current_definitions"


def test_celery_app_args_carry_the_broker_and_turn_retries_off():
    args = internals.celery_app_args("redis://127.0.0.1:6399/0", {"task_acks_late": True})
    assert args["broker"] == args["backend"] == "redis://127.0.0.1:6399/0"
    assert str(args["retries"].value) == "disabled"


def test_cron_validation_is_dagsters():
    assert internals.is_valid_cron("0 2 * * *")
    assert internals.is_valid_cron("*/15 * * * 1-5")
    assert not internals.is_valid_cron("61 * * * *")
    assert not internals.is_valid_cron("every night")


def test_observations_stored_in_one_batch_read_back_as_runless_ones_do(rendered):
    import dagster as dg

    session = open_session(rendered)
    key = session.graph.key("motion_spec")
    before = internals.latest_versions_by_partition(session.instance, key, observed=True)
    assert set(before) == {"a", "b", "c"}
    internals.store_observations(session.instance, [
        dg.AssetObservation(key, partition=shot, tags={"dagster/data_version": f"v-{shot}"}) for shot in ("a", "b")])
    after = internals.latest_versions_by_partition(session.instance, key, observed=True)
    assert after == {"a": "v-a", "b": "v-b", "c": before["c"]}
    assert latest_version(session.instance, key, "a", is_source=True) == "v-a"
    records = session.instance.fetch_observations(dg.AssetRecordsFilter(key, asset_partitions=["b"]), limit=1).records
    assert records[0].event_log_entry.run_id == "" and records[0].partition_key == "b"
