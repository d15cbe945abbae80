"""The Celery app `dagster-celery worker start -A film_pipeline.celery_app` serves.

dagster-celery's own `dagster_celery.app` reads its broker from a config file the worker command
writes; this one reads FILM_BROKER and the shared settings from the environment (film_pipeline.
workers), so a worker agrees with the executor and no password is written to disk.
"""

from dagster_celery.tasks import create_task

from film_pipeline.workers import WorkerSettings, celery_app

app = celery_app(WorkerSettings.from_env())
execute_plan = create_task(app)
