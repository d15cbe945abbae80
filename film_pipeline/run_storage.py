"""Dagster's SQLite run storage with its connection kept open: the instance's run storage.

The file is Dagster's own (`SqliteRunStorage`: `$FILM_HOME/dagster/history/runs.db`), so the runs
every UI and render has recorded stay where they are. The stock class makes an engine, opens a
connection and closes it for every statement (some 40 per run: the run, its status changes, its
tags); here each process makes one engine and pools its connection (a forked child makes its own).

`home.dagster_home` names this class in the instance's dagster.yaml, beside the event storage
(`event_storage.FilmEventLogStorage`).
"""

import os
import threading
from contextlib import contextmanager

from film_pipeline.dagster_internals import SqliteRunStorage
from film_pipeline.sqlite_engine import pooled_engine


class FilmRunStorage(SqliteRunStorage):
    def __init__(self, conn_string: str, inst_data=None):
        self._engine, self._engine_pid, self._engine_lock = None, None, threading.Lock()
        super().__init__(conn_string, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "FilmRunStorage":
        return cls.from_local(inst_data=inst_data, **config_value)  # the stock class names itself here

    @contextmanager
    def connect(self):
        with self._pooled().connect() as conn:
            with conn.begin():
                yield conn

    def _pooled(self):
        with self._engine_lock:
            if self._engine is None or self._engine_pid != os.getpid():
                if self._engine is not None:  # a forked child: the parent's connection is not ours to use
                    self._engine.dispose(close=False)
                self._engine = pooled_engine(self._conn_string, pool_size=1, max_overflow=16)
                self._engine_pid = os.getpid()
            return self._engine

    def dispose(self) -> None:
        if self._engine is not None and self._engine_pid == os.getpid():
            self._engine.dispose()
        self._engine = None
        super().dispose()
