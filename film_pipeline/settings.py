"""The settings a code location is built with, read from the environment once, by its caller.

Nothing reads these at import: `definitions.py` (the code location's entry point), `film render`
and the tests build a `Settings` and pass it to the definitions factory, so a test sets a value
by building its own instead of patching a module global.

  FILM_SENSOR_INTERVAL         seconds between two looks of the film.yaml sensor (default 3: a look
                               is one file read, and a save should reach the cut about as soon as
                               `film render` would)
  FILM_SENSOR_SETTLE_SECONDS   a changed film.yaml is read once it has been still this long (1.0)
  FILM_BROKER and the rest     where steps run (film_pipeline.workers.WorkerSettings)
"""

import os
from dataclasses import dataclass, field

from film_pipeline.workers import WorkerSettings


@dataclass(frozen=True)
class Settings:
    sensor_interval: int = 3  # the film.yaml sensor's minimum interval; Dagster 1.13's daemon loops every 5 s
    settle_seconds: float = 1.0
    workers: WorkerSettings = field(default_factory=WorkerSettings)
    profile: str = ""  # a profile that overrides each film's own (empty: the film's)

    @classmethod
    def from_env(cls, profile: str = "") -> "Settings":
        return cls(sensor_interval=int(os.environ.get("FILM_SENSOR_INTERVAL", "3")),
                   settle_seconds=float(os.environ.get("FILM_SENSOR_SETTLE_SECONDS", "1.0")),
                   workers=WorkerSettings.from_env(), profile=profile)
