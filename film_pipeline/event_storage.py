"""Dagster's SQLite event log with its connections kept open: the instance's event storage.

The files are Dagster's own (`SqliteEventLogStorage`: one database per run and an index, under
`$FILM_HOME/dagster/history/runs`), so the history every UI and render has written stays where it
is. Three costs of the stock class are gone (a shot run wrote some 40 events through about 270
connections, and made a database per run from scratch):

- each database's engine is made once per process and its connection pooled, instead of an
  engine, a connection and a `close` per statement (a few of the most recent runs' databases are
  kept open, with the index; a forked child opens its own);
- a run's database is a copy of an empty one, made and stamped once, not a schema created and
  stamped by Alembic per run, nor its stamp read back when the run first writes to it;
- whether a table exists (asked before each asset check's event, each dynamic-partition lookup and
  each asset event's tags, with an engine of its own each time) is asked once per table: a table,
  once there, stays (an `upgrade` forgets what was seen).

`home.dagster_home` names this class in the instance's dagster.yaml, so the CLI, `film ui`, the
daemon, the run workers and Celery all use it.
"""

import os
import shutil
import threading
from collections import OrderedDict
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from film_pipeline.dagster_internals import INDEX_SHARD_NAME, SqliteEventLogStorage
from film_pipeline.sqlite_engine import pooled_engine

OPEN_RUN_DATABASES = 4
EMPTY_RUN_DATABASE = ".film-empty-run.db"  # a dot file: Dagster's `*.db` globs for run ids skip it


class FilmEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict = OrderedDict()  # before Dagster's __init__, which may reindex a new index
        self._engines_pid = os.getpid()
        self._template_lock = threading.Lock()
        self._tables_seen: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "FilmEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str):
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def _engine(self, shard: str):
        if self._engines_pid != os.getpid():  # a forked child: the parent's connections are not ours to use
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._engines.clear()
            self._engines_pid = os.getpid()
        if shard in self._engines:
            self._engines.move_to_end(shard)
            return self._engines[shard]
        if shard != INDEX_SHARD_NAME and not os.path.exists(self.path_for_shard(shard)):
            self._copy_empty_database(self.path_for_shard(shard))
            self._initialized_dbs.add(shard)  # the copy is stamped: nothing for Alembic to check
        engine = pooled_engine(self.conn_string_for_shard(shard), pool_size=1, max_overflow=2)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        runs = [name for name in self._engines if name != INDEX_SHARD_NAME]
        for name in runs[:-OPEN_RUN_DATABASES]:
            self._engines.pop(name).dispose()
        return engine

    def _copy_empty_database(self, path: str) -> None:
        """A new run's database: a copy of an empty, stamped one (made the first time)."""
        template = os.path.join(self._base_dir, EMPTY_RUN_DATABASE)
        with self._template_lock:
            if not os.path.exists(template):
                partial = f"{template}.{os.getpid()}.tmp"
                engine = create_engine(f"sqlite:///{partial}")
                self._initdb(engine)
                with engine.connect() as conn:  # one file: fold the write-ahead log in, then copy it whole
                    conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
                engine.dispose()
                os.replace(partial, template)
                for suffix in ("-wal", "-shm"):
                    if os.path.exists(partial + suffix):
                        os.remove(partial + suffix)
        partial = f"{path}.{os.getpid()}.tmp"
        shutil.copyfile(template, partial)
        os.replace(partial, path)

    def has_table(self, table_name: str) -> bool:
        if table_name in self._tables_seen:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_seen.add(table_name)
        return found

    def upgrade(self) -> None:
        self._tables_seen.clear()
        super().upgrade()

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()
