"""Rendering on several workers: Dagster's Celery executor with a Redis broker.

Everything is configured from the environment, so the UI, the daemon, `film render` and every
worker agree without a file that could leak the broker's password:

  FILM_BROKER             redis://[:password@]host:6379/0. Set, every run of a film's render jobs
                          goes through Celery: each step is a task on a worker. Unset, runs stay
                          in one process (the default).
  FILM_GPU_QUEUE          the queue of model stages (default `gpu`)
  FILM_CPU_QUEUE          the queue of editing, audio mixing and checks (default `cpu`)
  FILM_WORKER_LOST_AFTER  seconds after which a task whose worker vanished (killed, host lost) is
                          handed to another worker (default 1800). Keep it above the longest step:
                          Redis cannot tell a dead worker from a slow one.
  FILM_PARALLEL_RUNS      how many shot runs `film render` keeps in flight at once (default: two
                          per worker serving the gpu queue, so one waits while the other runs)

A worker is a `dagster-celery worker` process on `film_pipeline.celery_app`. It runs one task at a
time (one GPU each) in a long-lived child process, so models stay loaded between tasks. Tasks are
acknowledged only when done: a worker's child that dies hands its task straight back, and a
whole worker that dies hands it back after FILM_WORKER_LOST_AFTER.
"""

import os
import socket
import sys
from dataclasses import dataclass

QUEUE_TAG = "dagster-celery/queue"  # dagster_celery.tags.DAGSTER_CELERY_QUEUE_TAG, without importing celery


class WorkerConfigError(ValueError):
    """The worker settings in the environment cannot be used."""


@dataclass(frozen=True)
class WorkerSettings:
    broker: str = ""
    gpu_queue: str = "gpu"
    cpu_queue: str = "cpu"
    lost_after: int = 1800
    parallel_runs: int = 0  # 0: two per gpu worker

    @classmethod
    def from_env(cls) -> "WorkerSettings":
        return cls(broker=os.environ.get("FILM_BROKER", "").strip(),
                   gpu_queue=os.environ.get("FILM_GPU_QUEUE", "gpu").strip() or "gpu",
                   cpu_queue=os.environ.get("FILM_CPU_QUEUE", "cpu").strip() or "cpu",
                   lost_after=_positive_int("FILM_WORKER_LOST_AFTER", 1800),
                   parallel_runs=_positive_int("FILM_PARALLEL_RUNS", 0))

    @property
    def enabled(self) -> bool:
        return bool(self.broker)

    @property
    def queues(self) -> list[str]:
        return list(dict.fromkeys([self.gpu_queue, self.cpu_queue]))

    def runs_in_flight(self, served: dict[str, list[str]]) -> int:
        """Shot runs to orchestrate at once for the workers `served` lists (worker -> its queues)."""
        return self.parallel_runs or max(2, 2 * sum(self.gpu_queue in queues for queues in served.values()))

    def queue_for(self, runs_a_model: bool) -> str:
        return self.gpu_queue if runs_a_model else self.cpu_queue

    def celery_config(self) -> dict:
        """Celery settings shared by the executor and the workers (they must match)."""
        return {
            "task_default_queue": self.cpu_queue,
            "task_acks_late": True,  # a task is done when its step is, not when a worker took it
            "task_reject_on_worker_lost": True,  # a child killed mid-task puts its task back at once
            "worker_prefetch_multiplier": 1,  # a busy worker holds no second task another could run
            "broker_connection_retry_on_startup": True,
            "result_expires": 86400,
            "broker_transport_options": {
                "visibility_timeout": self.lost_after,
                # look for tasks of vanished workers every 10 s (kombu's default scans every 100 s)
                "unacked_restore_interval": min(10, self.lost_after),
                "unacked_restore_throttle": 1,
                "max_retries": 3, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5,
            },
        }


def _positive_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise WorkerConfigError(f"{name}={text!r} must be a whole number of at least 1")
    return value


def executor_def(settings: WorkerSettings):
    """Dagster's Celery executor, reading the broker from FILM_BROKER at run time (never stored)."""
    from dagster_celery import celery_executor

    return celery_executor.configured(
        {"broker": {"env": "FILM_BROKER"}, "backend": {"env": "FILM_BROKER"},
         "config_source": settings.celery_config()},
        name="celery",
    )


def celery_app(settings: WorkerSettings):
    """The Celery app a worker serves: the same broker, backend and settings as the executor."""
    from dagster_celery.make_app import make_app

    from film_pipeline.dagster_internals import celery_app_args

    if not settings.enabled:
        raise WorkerConfigError("FILM_BROKER is not set: a worker needs the broker's URL, "
                                "e.g. FILM_BROKER=redis://127.0.0.1:6379/0 (`film workers up` starts one)")
    return make_app(celery_app_args(settings.broker, settings.celery_config()))


def current_worker() -> str:
    """Who runs this step: the Celery worker's node name, or this process for in-process runs."""
    celery = sys.modules.get("celery")
    task = getattr(celery, "current_task", None) if celery else None
    hostname = getattr(getattr(task, "request", None), "hostname", None) if task else None
    return hostname or f"in-process@{socket.gethostname()}"


def require_workers(settings: WorkerSettings, timeout: float = 3.0) -> dict[str, list[str]]:
    """The live workers and their queues; a clear error when a queue has nobody to serve it
    (the render would otherwise wait forever for its steps)."""
    from kombu.exceptions import OperationalError

    app = celery_app(settings)
    try:
        served = app.control.inspect(timeout=timeout).active_queues() or {}
    except OperationalError as error:
        raise WorkerConfigError(f"cannot reach the broker FILM_BROKER names: {error}. "
                                "Start Redis, or unset FILM_BROKER to render in this process") from None
    queues = {worker: [queue["name"] for queue in listening] for worker, listening in served.items()}
    missing = [q for q in settings.queues if not any(q in listening for listening in queues.values())]
    if missing:
        raise WorkerConfigError(f"no Celery worker serves the {' and '.join(missing)} queue"
                                f"{'s' if len(missing) > 1 else ''} on FILM_BROKER: start workers with "
                                "`film workers up N` (or `dagster-celery worker start -A film_pipeline.celery_app "
                                f"-q {','.join(settings.queues)}`), or unset FILM_BROKER to render in this process")
    return queues
