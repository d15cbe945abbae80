"""`film ui`: Dagster's webserver and daemon (sensors, schedules, the run queue) for every film under
$FILM_HOME, on 127.0.0.1 by default, sharing the instance `film render` writes to.

`dagster dev` runs in a session of its own with SIGINT and SIGTERM restored to their defaults
(a background shell leaves them ignored, and then it never stops). Ctrl-C or SIGTERM to
`film ui` asks it to shut down; whatever is left of its session after a grace period, code
servers and run workers included, is killed, so nothing outlives the command.

Nor does anything outlive a `film ui` that is killed outright (`kill -9`, the OOM killer), which
has no chance to clean up: a watchdog in dagster dev's session holds the read end of a pipe whose
write end only `film ui` holds, and when that reads end-of-file it stops the whole session
(SIGTERM, a grace period, SIGKILL). See processes.exec_tied_to_parent.

The runs its daemon launched (the sensor's, the schedule's, a run started from the UI) die with
its session; once it is stopped, those the instance still records as running are marked failed
(`fail_runs_it_left`). Otherwise they stayed "started" for good, and `film render`, which leaves
a shot the UI is rendering to that run, never rendered that shot or the cut again.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from film_pipeline.home import dagster_home, film_home
from film_pipeline.processes import stop_session, tied_command

GRACE_SECONDS = 20.0


def dagster_dev_command(host: str, port: int) -> list[str]:
    dagster = Path(sys.executable).with_name("dagster")
    return [str(dagster), "dev", "-m", "film_pipeline.definitions", "-a", "current_definitions", "-h", host, "-p", str(port)]


def _default_signals() -> None:
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)


def serve(host: str = "127.0.0.1", port: int = 3000) -> int:
    """Run the UI until Ctrl-C or SIGTERM; returns dagster dev's exit code (0 after a clean stop)."""
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home()), "FILM_HOME": str(film_home())}
    # the write end stays open in this process alone (os.pipe's ends are not inherited): the
    # watchdog reads end-of-file when this process is gone, however it went
    watched, parent_alive = os.pipe()
    try:
        server = subprocess.Popen(tied_command(watched, dagster_dev_command(host, port)), env=env,
                                  start_new_session=True, preexec_fn=_default_signals, pass_fds=(watched,))
    except BaseException:
        os.close(parent_alive)
        raise
    finally:
        os.close(watched)
    print(f"film: Dagster UI on http://{host}:{port} (FILM_HOME={film_home()}); Ctrl-C stops it", file=sys.stderr,
          flush=True)
    stopping = []

    def stop(number, _frame):
        stopping.append(number)
        _signal_group(server.pid, signal.SIGINT)  # dagster dev's own clean shutdown

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        while server.poll() is None and not stopping:
            time.sleep(0.2)
        code = _wait_then_kill(server) if stopping else server.returncode
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _signal_group(server.pid, signal.SIGKILL)  # anything still in its process group,
        stop_session(server.pid, grace=0)  # or in its session (the watchdog included)
        os.close(parent_alive)
        fail_runs_it_left()
    return 0 if stopping else code


def fail_runs_it_left() -> list[str]:
    """Mark failed the runs still recorded as running that the UI's daemon launched, once the UI
    and everything in its session is stopped (a `film render`'s runs, launched by the CLI, are
    its own); the ids of those marked."""
    import dagster as dg

    from film_pipeline.home import get_instance
    from film_pipeline.records import IN_PROGRESS

    instance = get_instance()
    left = [record.dagster_run for record in instance.get_run_records(dg.RunsFilter(statuses=list(IN_PROGRESS)))
            if record.dagster_run.tags.get("launched_by") != "film-cli"]
    for run in left:
        instance.report_run_failed(run, "the `film ui` that ran it stopped before the run ended")
    return [run.run_id for run in left]


def _wait_then_kill(server: subprocess.Popen) -> int:
    try:
        return server.wait(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _signal_group(server.pid, signal.SIGKILL)
        return server.wait()


def _signal_group(group: int, number: int) -> None:
    try:
        os.killpg(group, number)
    except (ProcessLookupError, PermissionError):
        pass
