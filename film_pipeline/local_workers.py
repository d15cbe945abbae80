"""`film workers up N`: a Redis broker and N `dagster-celery worker` processes on this machine.

For a try on one machine, and for the tests. Redis (Debian's `redis-server`) starts on 127.0.0.1
unless FILM_BROKER names a broker already; each worker serves the gpu and cpu queues, one task at
a time, in a process group of its own. Pids and the broker's URL are recorded in
$FILM_HOME/workers/workers.json (readable by the owner only), logs sit beside it, and
`film workers down` stops them all.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import dagster as dg

from film_pipeline.home import HomeError, dagster_home, film_home, get_instance, read_state
from film_pipeline.processes import HOST, alive, free_port, stop_group
from film_pipeline.workers import WorkerConfigError, WorkerSettings, celery_app

WORKER_APP = "film_pipeline.celery_app"


@dataclass(frozen=True)
class Workers:
    broker: str
    workers: dict[str, int]  # node name -> pid of its process group
    broker_pid: int | None = None  # the Redis this command started (None: FILM_BROKER's own)

    def env(self) -> dict[str, str]:
        """What a `film render` or `film ui` needs to send its steps to these workers."""
        return {"FILM_BROKER": self.broker, "FILM_HOME": str(film_home())}


def workers_dir() -> Path:
    return film_home() / "workers"


def worker_command(name: str, settings: WorkerSettings) -> list[str]:
    """`dagster-celery worker start` on the film's app: one task at a time in a long-lived child
    process (its models stay loaded), which the worker replaces if it dies."""
    # one -q with a comma list: dagster-celery passes each -q on as celery's -Q, where the last wins
    return [str(Path(sys.executable).with_name("dagster-celery")), "worker", "start", "-A", WORKER_APP, "-n", name,
            "-q", ",".join(settings.queues), "--", "--concurrency=1", "--pool=prefork", "--without-gossip", "--without-mingle"]


def up(count: int, port: int | None = None, timeout: float = 180.0) -> Workers:
    """Start the broker (if FILM_BROKER is unset) and `count` workers, and wait until all answer."""
    if count < 1:
        raise WorkerConfigError(f"`film workers up {count}`: start at least one worker")
    if status() is not None:
        raise WorkerConfigError(f"workers are already up under {workers_dir()}; `film workers down` first")
    settings = WorkerSettings.from_env()
    root = workers_dir()
    root.mkdir(parents=True, exist_ok=True)
    broker_pid = None
    if not settings.enabled:
        port = port or free_port()
        broker_pid = _start_redis(port, root)
        settings = replace(settings, broker=f"redis://{HOST}:{port}/0")
    with get_instance() as instance:  # create the SQLite storage once: workers starting together race to migrate it
        instance.get_run_records(limit=1)
        instance.event_log_storage.get_event_records(dg.EventRecordsFilter(dg.DagsterEventType.RUN_SUCCESS), limit=1)
    env = {**os.environ, "FILM_BROKER": settings.broker, "FILM_HOME": str(film_home()),
           "DAGSTER_HOME": str(dagster_home()),
           # dagster-celery runs `celery` by name: this environment's, even when it is not activated
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    pids = {}
    for index in range(1, count + 1):
        name = f"film-worker-{index}"
        with open(root / f"{name}.log", "ab") as log:
            process = subprocess.Popen(worker_command(name, settings), env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        pids[f"{name}@{socket.gethostname()}"] = process.pid
    workers = Workers(settings.broker, pids, broker_pid)
    _record(workers)
    try:
        _wait_until_ready(workers, settings, timeout)
    except BaseException:
        down()
        raise
    return workers


def status() -> Workers | None:
    """The workers `up` started, if any of them is still alive."""
    record = _read_record()
    if record is None:
        return None
    workers = Workers(record["broker"], record["workers"], record.get("broker_pid"))
    return workers if any(alive(pid) for pid in workers.workers.values()) else None


def down() -> bool:
    """Stop every worker (a worker finishes its task first, up to 30 s), then the broker it started."""
    record = _read_record()
    if record is None:
        return False
    stopped = [stop_group(pid, timeout=30.0) for pid in record["workers"].values()]
    if record.get("broker_pid"):
        stop_group(record["broker_pid"])
    (workers_dir() / "workers.json").unlink(missing_ok=True)
    return any(stopped)


def _read_record() -> dict | None:
    record = read_state(workers_dir() / "workers.json", {"broker": str, "workers": dict},
                        "It records the workers `film workers up` started: if no `celery` process runs (`ps -ef | grep "
                        "celery`), delete it and `film workers up` again")
    pids = list(record["workers"].values()) + [record.get("broker_pid")] if record else []
    if record and not all(isinstance(pid, int) and pid > 1 for pid in pids if pid is not None):
        raise HomeError(f"{workers_dir() / 'workers.json'} is damaged (a pid that is not a process id); if no "
                        f"`celery` process runs, delete it and `film workers up` again")
    return record


def _record(workers: Workers) -> None:
    fd = os.open(workers_dir() / "workers.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:  # the broker URL may hold a password
        json.dump({"broker": workers.broker, "workers": workers.workers, "broker_pid": workers.broker_pid}, out, indent=1)


def _start_redis(port: int, root: Path) -> int:
    server = shutil.which("redis-server")
    if server is None:
        raise WorkerConfigError("redis-server is not installed: `apt-get install redis-server`, or point "
                                "FILM_BROKER at a Redis you run (redis://host:6379/0)")
    (root / "redis").mkdir(exist_ok=True)
    with open(root / "redis.log", "ab") as log:
        process = subprocess.Popen([server, "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no",
                                    "--dir", str(root / "redis")], stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    deadline = time.monotonic() + 20
    while not _redis_answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_group(process.pid)
            raise WorkerConfigError(f"redis-server did not start on {HOST}:{port}; see {root / 'redis.log'}")
        time.sleep(0.1)
    return process.pid


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _wait_until_ready(workers: Workers, settings: WorkerSettings, timeout: float) -> None:
    app = celery_app(settings)
    deadline = time.monotonic() + timeout
    waiting = set(workers.workers)
    while waiting:
        for name in waiting:
            if not alive(workers.workers[name]):
                log = workers_dir() / f"{name.split('@')[0]}.log"
                raise WorkerConfigError(f"worker {name} exited at start:\n{log.read_text()[-2000:]}")
        for reply in app.control.ping(destination=sorted(waiting), timeout=1.0) or []:
            waiting -= set(reply)
        if waiting and time.monotonic() > deadline:
            raise WorkerConfigError(f"workers {', '.join(sorted(waiting))} did not answer in {timeout:.0f} s; "
                                    f"see their logs in {workers_dir()}")
