"""The `film` command's garbage-collector policy (film_pipeline.heap): the collector is paused while
the main thread imports and the heap frozen after an import that loaded a module; nothing else
changes. Each case runs in a fresh interpreter, as the policy is once per process."""

import json
import subprocess
import sys
import textwrap


def run_python(tmp_path, body: str) -> dict:
    """Run `body` with `collect_around_imports()` installed and modules in tmp_path; it prints JSON."""
    (tmp_path / "records_collector.py").write_text("import gc\nSEEN = gc.isenabled()\n")
    (tmp_path / "fails_to_import.py").write_text("import gc\nraise RuntimeError('a broken module')\n")
    (tmp_path / "imports_another.py").write_text("import records_collector\nimport gc\nSEEN = gc.isenabled()\n")
    script = "import gc, json, sys\nfrom film_pipeline import heap\nheap.collect_around_imports()\n" + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_an_import_runs_with_the_collector_paused_and_freezes_what_exists(tmp_path):
    seen = run_python(tmp_path, """
        before = gc.get_freeze_count()
        kept = [[] for _ in range(1000)]  # made before the import: frozen with it
        import records_collector
        print(json.dumps({"during": records_collector.SEEN, "after": gc.isenabled(),
                          "frozen": gc.get_freeze_count() - before}))
    """)
    assert seen["during"] is False, "the module's body ran with the collector on"
    assert seen["after"] is True
    assert seen["frozen"] >= 1000


def test_an_import_of_a_loaded_module_freezes_nothing(tmp_path):
    seen = run_python(tmp_path, """
        import records_collector
        frozen = gc.get_freeze_count()
        kept = [[] for _ in range(1000)]
        import records_collector
        from records_collector import SEEN
        import importlib; importlib.import_module("records_collector")
        print(json.dumps({"frozen": gc.get_freeze_count() - frozen, "after": gc.isenabled()}))
    """)
    assert seen == {"frozen": 0, "after": True}


def test_nested_imports_and_import_module_pause_it_too(tmp_path):
    seen = run_python(tmp_path, """
        import importlib
        outer = importlib.import_module("imports_another")
        import records_collector
        print(json.dumps({"outer": outer.SEEN, "inner": records_collector.SEEN, "after": gc.isenabled()}))
    """)
    assert seen == {"outer": False, "inner": False, "after": True}


def test_a_failed_import_restores_the_collector_and_the_next_import_still_pauses_it(tmp_path):
    seen = run_python(tmp_path, """
        try:
            import fails_to_import
        except RuntimeError:
            pass
        after_failure = gc.isenabled()
        import records_collector
        print(json.dumps({"after_failure": after_failure, "next": records_collector.SEEN}))
    """)
    assert seen == {"after_failure": True, "next": False}


def test_a_collector_turned_off_stays_off_and_other_threads_import_as_they_came(tmp_path):
    seen = run_python(tmp_path, """
        import threading
        worker = threading.Thread(target=lambda: __import__("records_collector"))
        worker.start(); worker.join()
        in_thread = sys.modules["records_collector"].SEEN
        gc.disable()
        import imports_another
        print(json.dumps({"in_thread": in_thread, "stays_off": not gc.isenabled()}))
    """)
    assert seen == {"in_thread": True, "stays_off": True}


def _policy_after_loading_the_code_location(tmp_path, argv: list[str], orig_argv: list[str] | None = None) -> bool:
    script = textwrap.dedent(f"""
        import builtins, sys
        sys.argv = {argv!r}
        sys.orig_argv = {orig_argv or [sys.executable, *argv]!r}
        import film_pipeline.definitions
        print(builtins.__import__.__name__ == "pausing_import")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "True"


SERVER = ["/x/dagster/__main__.py", "api", "grpc", "--lazy-load-user-code", "--socket", "/tmp/s"]
SPAWNED = [sys.executable, "-c", "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=4, pipe_handle=6)",
           "--multiprocessing-fork"]


def test_a_dagster_run_or_step_worker_installs_it_when_it_loads_the_code_location(tmp_path):
    """The UI's and the sensor's runs execute in a child the code server spawns (its argv the
    server's, started with `--multiprocessing-fork`), or in `dagster api execute_run|execute_step`:
    short-lived and as heavy as a `film` command."""
    assert _policy_after_loading_the_code_location(tmp_path, SERVER, SPAWNED)
    assert _policy_after_loading_the_code_location(tmp_path, ["/x/dagster/__main__.py", "api", "execute_run", "{}"])
    assert _policy_after_loading_the_code_location(tmp_path, ["/x/bin/dagster", "api", "execute_step", "{}"])


def test_long_lived_dagster_processes_are_left_as_they_are(tmp_path):
    for argv in (SERVER, ["/x/bin/dagster", "code-server", "start"], ["/x/dagster_webserver/__main__.py", "--port", "3000"],
                 ["/x/dagster/_daemon/__main__.py", "run"]):
        assert not _policy_after_loading_the_code_location(tmp_path, argv), argv
