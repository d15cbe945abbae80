"""The SQLite engines of the instance's storages (its event log and its run storage): pooled, and
committing without an fsync each.

Dagster keeps every SQLite database of the instance in write-ahead-log mode, with SQLite's
default `synchronous=FULL`: every commit waits for an fsync of the log, 1.3 ms here, and a shot's
run commits some 50 events (about 2 s of a 32-shot film's first render). With
`synchronous=NORMAL`, the setting SQLite's documentation gives for WAL mode, a commit writes the
log and returns; the log is synced at each checkpoint. The database is never corrupted that way:
a power cut or an operating-system crash (not a killed process) can only undo the last
transactions before it, which for a run in progress means the last lines of its log.
"""

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from film_pipeline.dagster_internals import SQLITE_BUSY_TIMEOUT_SECONDS


def pooled_engine(conn_string: str, pool_size: int, max_overflow: int) -> Engine:
    """An engine whose connections wait for a busy database (as Dagster's do) and commit unsynced."""
    engine = create_engine(conn_string, pool_size=pool_size, max_overflow=max_overflow,
                           connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
    event.listen(engine, "connect", _commit_without_fsync)
    return engine


def _commit_without_fsync(connection, _record) -> None:
    connection.execute("PRAGMA synchronous=NORMAL")
