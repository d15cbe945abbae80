"""The private Dagster APIs the project relies on, in one place, each behind a small function.

Dagster 1.13 has no public API for these; `film_pipeline_tests/integration/test_dagster_internals.py`
pins the behaviour each one is used for, so an upgrade that moves them breaks here and there,
not across the package.

- The stale-status resolver: which asset partitions are stale against their recorded inputs,
  and why (the planner's first question; the UI computes the same).
- The latest data version of every partition of an asset in one query (the planner, past
  Dagster's 100-partition staleness limit).
- Whether a sensor is running (the film.yaml sensor defers to the declarative one).
- A job rebuilt from its module by name (a run whose steps Celery workers execute).
- Dagster's Celery executor's task arguments with retries off (a worker's Celery app).
- Dagster's own cron validation (film.yaml's `schedule:` is checked the way the scheduler reads it).
"""

import dagster as dg
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
from dagster._core.definitions.data_version import DATA_VERSION_TAG, CachingStaleStatusResolver, StaleStatus
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.retries import RetryMode
from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType
from dagster._time import get_current_datetime
from dagster._utils.schedules import is_valid_cron_string

STATUS_NAMES = {StaleStatus.FRESH: "fresh", StaleStatus.STALE: "stale", StaleStatus.MISSING: "missing"}


class StaleStatuses:
    """Dagster's own answer to "is this asset partition fresh, stale or missing, and why"."""

    def __init__(self, instance: dg.DagsterInstance, asset_graph):
        view = AssetGraphView(temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
                              instance=instance, asset_graph=asset_graph)
        self.resolver = CachingStaleStatusResolver(instance, asset_graph, view)

    def status(self, key: dg.AssetKey, partition: str | None) -> str:
        """`fresh`, `stale` or `missing`."""
        return STATUS_NAMES[self.resolver.get_status(key, partition)]

    def root_causes(self, key: dg.AssetKey, partition: str | None) -> list[tuple[str, str]]:
        """(the input's asset name, why) for each input that makes the partition stale."""
        return [(c.key.asset_key.path[-1], c.reason) for c in self.resolver.get_stale_root_causes(key, partition)]


def latest_versions_by_partition(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, str]:
    """The data version of each partition's latest materialization, in one query."""
    tags = instance.event_log_storage.get_latest_tags_by_partition(
        key, dg.DagsterEventType.ASSET_MATERIALIZATION, [DATA_VERSION_TAG])
    return {partition: found[DATA_VERSION_TAG] for partition, found in tags.items() if DATA_VERSION_TAG in found}


def sensor_running(instance: dg.DagsterInstance, name: str) -> bool:
    """Whether the sensor `name` is turned on in this instance (by the UI or by default)."""
    states = instance.all_instigator_state(instigator_type=InstigatorType.SENSOR,
                                           instigator_statuses={InstigatorStatus.RUNNING})
    return any(state.name == name for state in states)


def reconstructable_job(module: str, attribute: str, working_directory: str, job_name: str):
    """A job that another process (a Celery worker) can rebuild from `module.attribute()`."""
    repository = ReconstructableRepository.for_module(module, attribute, working_directory=working_directory)
    return repository.get_reconstructable_job(job_name)


def celery_app_args(broker: str, config_source: dict) -> dict:
    """The arguments of the Celery app Dagster's Celery executor sends tasks to (retries off)."""
    from dagster_celery.executor import CeleryExecutor

    executor = CeleryExecutor(retries=RetryMode(RetryMode.DISABLED), broker=broker, backend=broker,
                              config_source=config_source)
    return executor.app_args()


def is_valid_cron(text: str) -> bool:
    return is_valid_cron_string(text)
