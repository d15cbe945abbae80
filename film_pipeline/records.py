"""Reading the instance's records with no `dagster._` import: data versions as recorded, every
materialization of an asset (paged: Dagster returns at most 10,000 records per call), and the
run statuses the project waits on."""

from collections.abc import Iterator

import dagster as dg

PAGE = 5_000
DATA_VERSION_TAG = "dagster/data_version"
LEGACY_DATA_VERSION_TAG = "dagster/logical_version"  # what Dagster before 1.2 wrote; it still reads it
S = dg.DagsterRunStatus
# a run that has started and not ended (Dagster's IN_PROGRESS_RUN_STATUSES)
IN_PROGRESS = (S.STARTING, S.STARTED, S.CANCELING, S.SUSPENDED)
# ... or is waiting in the run queue for its pool slot (Dagster's NOT_FINISHED_STATUSES)
NOT_FINISHED = IN_PROGRESS + (S.QUEUED, S.NOT_STARTED)
FINISHED = (S.SUCCESS, S.FAILURE, S.CANCELED)


def recorded_version(entry) -> str | None:
    """The data version an event log entry (a materialization or an observation) recorded."""
    tags = (entry.tags or {}) if entry is not None else {}
    return tags.get(DATA_VERSION_TAG) or tags.get(LEGACY_DATA_VERSION_TAG)


def latest_version(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None, is_source: bool) -> str | None:
    """The data version last recorded for an asset partition: observed for a source, else materialized."""
    record = instance.get_latest_data_version_record(key, is_source, partition)
    return recorded_version(record.event_log_entry) if record else None


def materializations(instance: dg.DagsterInstance, key: dg.AssetKey) -> Iterator:
    cursor = None
    while True:
        page = instance.fetch_materializations(key, limit=PAGE, cursor=cursor, ascending=True)
        yield from page.records
        if not page.has_more:
            return
        cursor = page.cursor
