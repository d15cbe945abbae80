"""The private Dagster APIs the project relies on, in one place, each behind a small function.

Dagster 1.13 has no public API for these; `film_pipeline_tests/integration/test_dagster_internals.py`
pins the behaviour each one is used for, so an upgrade that moves them breaks here and there,
not across the package.

- The stale-status resolver: which asset partitions are stale against their recorded inputs,
  and why (the planner's first question; the UI computes the same).
- The latest data version of every partition of an asset in one query (the planner, past
  Dagster's 100-partition staleness limit).
- Runless observations stored in one transaction on SQLite (the public call commits each twice).
- Dagster's SQLite event log and run storage, which the instance's storage extends
  (`event_storage.py`, `run_storage.py`).
- Whether a sensor is running (the film.yaml sensor defers to the declarative one).
- A job rebuilt from its module by name (a run whose steps Celery workers execute).
- Dagster's Celery executor's task arguments with retries off (a worker's Celery app).
- Dagster's own cron validation (film.yaml's `schedule:` is checked the way the scheduler reads it).
"""

import logging

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG
# the instance's event log (event_storage.FilmEventLogStorage) extends Dagster's SQLite one
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (  # noqa: F401
    INDEX_SHARD_NAME, SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage)
# and the instance's run storage (run_storage.FilmRunStorage) Dagster's SQLite run storage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage  # noqa: F401

# The other private modules are imported where they are used: `film plan` and a no-op render need
# only the record queries, and importing the rest costs most of a second.

class StaleStatuses:
    """Dagster's own answer to "is this asset partition fresh, stale or missing, and why" (the
    planner decides the same from the records; the tests and bench/exactness.py compare the two)."""

    def __init__(self, instance: dg.DagsterInstance, asset_graph):
        from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
        from dagster._core.definitions.data_version import CachingStaleStatusResolver
        from dagster._time import get_current_datetime

        view = AssetGraphView(temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
                              instance=instance, asset_graph=asset_graph)
        self.resolver = CachingStaleStatusResolver(instance, asset_graph, view)

    def status(self, key: dg.AssetKey, partition: str | None) -> str:
        """`fresh`, `stale` or `missing`."""
        return self.resolver.get_status(key, partition).value.lower()

    def root_causes(self, key: dg.AssetKey, partition: str | None) -> list[tuple[str, str]]:
        """(the input's asset name, why) for each input that makes the partition stale."""
        return [(c.key.asset_key.path[-1], c.reason) for c in self.resolver.get_stale_root_causes(key, partition)]


def latest_versions_by_partition(instance: dg.DagsterInstance, key: dg.AssetKey, observed: bool = False) -> dict[str, str]:
    """The data version of each partition's latest materialization (or observation), in one query."""
    kind = dg.DagsterEventType.ASSET_OBSERVATION if observed else dg.DagsterEventType.ASSET_MATERIALIZATION
    tags = instance.event_log_storage.get_latest_tags_by_partition(key, kind, [DATA_VERSION_TAG])
    return {partition: found[DATA_VERSION_TAG] for partition, found in tags.items() if DATA_VERSION_TAG in found}


def store_observations(instance: dg.DagsterInstance, observations: list[dg.AssetObservation]) -> None:
    """Record runless observations, as `instance.report_runless_asset_event` does, but on SQLite
    in one transaction per database (one each costs two connections and two commits: thousands of
    them took minutes); other storages one by one through the public call."""
    from dagster._core.storage.sqlalchemy_compat import db_result

    storage = instance.event_log_storage
    if not observations:
        return
    if not isinstance(storage, SqliteEventLogStorage):
        for observation in observations:
            instance.report_runless_asset_event(observation)
        return
    from dagster._core.instance.utils import RUNLESS_RUN_ID
    from dagster._core.storage.event_log.schema import SqlEventLogStorageTable

    entries = [_runless_entry(observation) for observation in observations]
    rows = [storage._event_to_row(entry) for entry in entries]  # each event serialized once
    insert = SqlEventLogStorageTable.insert()  # one statement, compiled once, for every row
    with storage.run_connection(RUNLESS_RUN_ID) as conn:
        conn.execute(insert, rows)
    with storage.index_transaction() as conn:
        event_ids = [conn.execute(insert, row).inserted_primary_key[0] for row in rows]
        storage._store_asset_event_tags(conn, entries, event_ids)
        # an asset key's row keeps only its newest event's time: write it once per key, not per event
        newest = {entry.dagster_event.asset_key: (entry, event_id) for entry, event_id in zip(entries, event_ids)}
        for entry, event_id in newest.values():
            storage._store_asset_event(conn, entry, event_id)


def _runless_entry(observation: dg.AssetObservation):
    from dagster._core.events import AssetObservationData, DagsterEvent
    from dagster._core.events.log import EventLogEntry
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
    from dagster._time import get_current_timestamp

    event = DagsterEvent(event_type_value=dg.DagsterEventType.ASSET_OBSERVATION.value, job_name=RUNLESS_JOB_NAME,
                         event_specific_data=AssetObservationData(observation))
    return EventLogEntry(user_message="", level=logging.INFO, job_name=RUNLESS_JOB_NAME, run_id=RUNLESS_RUN_ID,
                         error_info=None, timestamp=get_current_timestamp(), step_key=None, dagster_event=event)


def sensor_running(instance: dg.DagsterInstance, name: str) -> bool:
    """Whether the sensor `name` is turned on in this instance (by the UI or by default)."""
    from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType

    states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR,
                                           instigator_statuses={InstigatorStatus.RUNNING})
    return any(state.name == name for state in states)


def reconstructable_job(module: str, attribute: str, working_directory: str, job_name: str):
    """A job that another process (a Celery worker) can rebuild from `module.attribute()`."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    repository = ReconstructableRepository.for_module(module, attribute, working_directory=working_directory)
    return repository.get_reconstructable_job(job_name)


def celery_app_args(broker: str, config_source: dict) -> dict:
    """The arguments of the Celery app Dagster's Celery executor sends tasks to (retries off)."""
    from dagster._core.execution.retries import RetryMode
    from dagster_celery.executor import CeleryExecutor

    executor = CeleryExecutor(retries=RetryMode(RetryMode.DISABLED), broker=broker, backend=broker,
                              config_source=config_source)
    return executor.app_args()


def is_valid_cron(text: str) -> bool:
    from dagster._utils.schedules import is_valid_cron_string

    return is_valid_cron_string(text)
