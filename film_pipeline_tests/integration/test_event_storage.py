"""The instance's storage: Dagster's SQLite event log and run storage files, with connections kept
open and run databases copied from an empty one. History written before stays readable; a render
opens a handful of connections, not hundreds."""

import shutil

import dagster as dg
import yaml

from film_pipeline import event_storage, run_storage
from film_pipeline.dagster_internals import SqliteEventLogStorage
from film_pipeline.event_storage import EMPTY_RUN_DATABASE, FilmEventLogStorage
from film_pipeline.run_storage import FilmRunStorage
from film_pipeline.home import dagster_home, get_instance
from film_pipeline.records import latest_version
from film_pipeline.render import render_film
from film_pipeline_tests.conftest import edit_film, shot


def test_the_instance_keeps_its_event_log_open_in_dagsters_own_files(rendered):
    instance = get_instance()
    assert type(instance.event_log_storage) is FilmEventLogStorage
    assert type(instance.run_storage) is FilmRunStorage
    config = yaml.safe_load((dagster_home() / "dagster.yaml").read_text())
    assert config["event_log_storage"]["config"]["base_dir"] == str(dagster_home() / "history" / "runs")
    assert config["run_storage"]["config"]["base_dir"] == str(dagster_home() / "history")
    assert latest_version(instance, dg.AssetKey(["mini", "final_cut"]), None, False) is not None
    # steps log through structured events: no `tail -F` pair per step capturing raw stdout/stderr
    assert type(instance.compute_log_manager).__name__ == "NoOpComputeLogManager"
    # a run the film.yaml sensor queues starts within a second, not five
    assert instance.run_coordinator.dequeue_interval_seconds == 1


def test_a_run_coordinator_of_the_users_own_is_left_as_it_is(rendered):
    config = dagster_home() / "dagster.yaml"
    own = config.read_text().replace("run_queue:\n  dequeue_interval_seconds: 1\n",
                                     "run_coordinator:\n  module: dagster._core.run_coordinator\n"
                                     "  class: DefaultRunCoordinator\n")
    config.write_text(own)
    instance = get_instance()
    assert config.read_text() == own and type(instance.run_coordinator).__name__ != "QueuedRunCoordinator"


def test_history_written_by_dagsters_own_storage_stays_readable(rendered):
    from dagster._core.storage.runs import SqliteRunStorage

    home = dagster_home()
    config = home / "dagster.yaml"
    original = config.read_text()
    config.write_text(original.split("# Added by film_pipeline")[0])  # as an older FILM_HOME has it
    stock = dg.DagsterInstance.from_config(str(home))
    assert type(stock.event_log_storage) is SqliteEventLogStorage and type(stock.run_storage) is SqliteRunStorage
    key = dg.AssetKey(["mini", "visual_spec"])
    stock.report_runless_asset_event(dg.AssetObservation(key, partition="a", tags={"dagster/data_version": "stock"}))
    before = stock.get_run_records()
    again = get_instance()
    assert type(again.event_log_storage) is FilmEventLogStorage and config.read_text() == original
    assert type(again.run_storage) is FilmRunStorage
    assert [r.dagster_run.run_id for r in again.get_run_records()] == [r.dagster_run.run_id for r in before]
    assert latest_version(again, key, "a", is_source=True) == "stock"


def test_a_render_opens_a_few_connections_and_copies_each_runs_empty_database(rendered, monkeypatch):
    engines, run_engines, stamp_checks, table_questions = [], [], [], []
    real, pooled, real_run = event_storage.create_engine, event_storage.pooled_engine, run_storage.pooled_engine
    monkeypatch.setattr(event_storage, "create_engine", lambda *a, **k: engines.append(a[0]) or real(*a, **k))
    monkeypatch.setattr(event_storage, "pooled_engine", lambda *a, **k: engines.append(a[0]) or pooled(*a, **k))
    monkeypatch.setattr(run_storage, "pooled_engine", lambda *a, **k: run_engines.append(a[0]) or real_run(*a, **k))
    initdb, has_table = SqliteEventLogStorage._initdb, SqliteEventLogStorage.has_table
    monkeypatch.setattr(SqliteEventLogStorage, "_initdb",
                        lambda self, engine, **k: stamp_checks.append(str(engine.url)) or initdb(self, engine, **k))
    monkeypatch.setattr(SqliteEventLogStorage, "has_table",
                        lambda self, name: table_questions.append(name) or has_table(self, name))
    edit_film(rendered, lambda d: shot(d, "b").__setitem__("prompt", "a city street in the rain"))
    result = render_film(rendered)
    render_stamp_checks = list(stamp_checks)  # the render's (a new instance below reads each run's stamp once)
    assert not result.failures and ("clip", "b") in result.materialized
    runs = dagster_home() / "history" / "runs"
    assert (runs / EMPTY_RUN_DATABASE).exists()
    for run_id in result.run_ids:
        assert (runs / f"{run_id}.db").exists()
        assert get_instance().all_logs(run_id)
    # one engine per database a run touched (the index, each run's own, the runless events'),
    # against one per statement (hundreds) before
    assert len(engines) <= 2 * len(result.run_ids) + 3, engines
    # a copied run database is stamped already: Alembic reads no run's stamp back
    assert not [url for url in render_stamp_checks if any(run_id in url for run_id in result.run_ids)], stamp_checks
    # whether a table exists is asked once per table, not before every check's or tag's write
    assert len(table_questions) == len(set(table_questions)), table_questions
    # one run-storage engine for the whole render, against one per statement before
    assert len(run_engines) == 1, run_engines


def test_a_moved_film_home_renews_the_path_and_a_postgres_instance_is_left_alone(rendered, tmp_path, monkeypatch):
    moved = tmp_path / "moved"
    shutil.copytree(rendered.parent.parent, moved)
    monkeypatch.setenv("FILM_HOME", str(moved))
    config = yaml.safe_load((dagster_home() / "dagster.yaml").read_text())
    assert config["event_log_storage"]["config"]["base_dir"] == str(moved / "dagster" / "history" / "runs")
    assert config["run_storage"]["config"]["base_dir"] == str(moved / "dagster" / "history")
    assert get_instance().get_run_records()
    team = "storage:\n  postgres:\n    postgres_url: postgresql://x@127.0.0.1/dagster\n"
    (moved / "dagster" / "dagster.yaml").write_text(team)
    dagster_home()
    assert (moved / "dagster" / "dagster.yaml").read_text() == team


def test_the_instance_commits_without_an_fsync_each_in_write_ahead_log_mode(rendered):
    """Dagster keeps each database in WAL mode; a commit then needs no fsync (SQLite's `NORMAL`)
    to keep the database whole, only to survive a power cut (film_pipeline.sqlite_engine)."""
    from sqlalchemy import text

    from film_pipeline.dagster_internals import INDEX_SHARD_NAME

    instance = get_instance()
    run_id = instance.get_run_records(limit=1)[0].dagster_run.run_id
    connections = [instance.event_log_storage._connect(INDEX_SHARD_NAME), instance.event_log_storage._connect(run_id),
                   instance.run_storage.connect()]
    for connection in connections:
        with connection as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL; FULL is 2


def test_an_event_committed_just_before_its_process_is_killed_is_kept(rendered):
    """Without an fsync per commit, a killed process (SIGKILL, no exit handlers) still loses nothing:
    the write-ahead log is in the operating system's hands once the commit returns."""
    import os
    import subprocess
    import sys

    script = ("import os, signal, dagster as dg; from film_pipeline.home import get_instance; "
              "get_instance().report_runless_asset_event(dg.AssetObservation(dg.AssetKey(['mini', 'visual_spec']), "
              "partition='a', tags={'dagster/data_version': 'just-before'})); os.kill(os.getpid(), signal.SIGKILL)")
    killed = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), capture_output=True)
    assert killed.returncode == -9, killed.stderr
    assert latest_version(get_instance(), dg.AssetKey(["mini", "visual_spec"]), "a", is_source=True) == "just-before"
