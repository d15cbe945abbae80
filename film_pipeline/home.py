"""$FILM_HOME: where renders, the Dagster instance and the list of known films live.

Layout (default `./data`):
  films/<film>/film.yaml   films the code location serves (the demo lives here)
  store/                   the local artifact store (content-addressed)
  dagster/                 DAGSTER_HOME: dagster.yaml and the SQLite run/event storage
  films.json               every film dir `film render` has seen, so the UI shows it too
  render.lock              held by the one render that may write at a time
  seaweedfs/ workers/      the local S3 server's and the Celery workers' state (pids, ports, keys)
  cache/                   local copies of objects read from an S3 store, the cut's composed segments,
                           joined runs, contact sheet and mastered sound, the scores last composed,
                           the loudness meter's readings, and what was checked and found sound: the
                           stored files hashed (`verified`) and the cut's streams decoded (`decoded`)
                           (all safe to delete)

`check_home` refuses a FILM_HOME that is not laid out this way (a file where a folder belongs,
FILM_HOME itself a file) and `read_state` a state file that is not what film wrote, each with a
`HomeError` that names the path and what to do, before anything is written.
"""

import json
import os
import shutil
import uuid
from pathlib import Path

from film_pipeline.film import film_location, film_slug

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_YAML = "telemetry:\n  enabled: false\n"
FOLDERS = ("films", "store", "dagster", "seaweedfs", "workers", "cache")
FILES = ("films.json", "render.lock", "dagster/dagster.yaml", "seaweedfs/server.json", "seaweedfs/keys.json",
         "workers/workers.json")


class HomeError(RuntimeError):
    """FILM_HOME is not laid out as film left it, or one of its state files is damaged."""


def check_home() -> Path:
    """FILM_HOME, checked: a folder (or not there yet) under folders, its parts of the right kind."""
    home = film_home()
    for path in (home, *home.parents):
        if path.exists() and not path.is_dir():
            raise HomeError(f"FILM_HOME {home} cannot be used: {path} is a file, not a folder; point FILM_HOME at "
                            f"a folder, or move the file away")
    for name in FOLDERS:
        if (home / name).exists() and not (home / name).is_dir():
            raise HomeError(f"{home / name} is a file where film keeps a folder; move it aside (nothing of film's "
                            f"is in it), then run the same command again")
    for name in FILES:
        if (home / name).is_dir():
            raise HomeError(f"{home / name} is a folder where film keeps a file; move it aside, then run the "
                            f"same command again")
    return home


def read_state(path: Path, fields: dict[str, type], remedy: str) -> dict | None:
    """A JSON state file film wrote under FILM_HOME: None when there is none; a HomeError that
    says `remedy` when it is not a JSON object with these fields of these types."""
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError):
        value = None
    wrong = [name for name, kind in fields.items()
             if not isinstance(value, dict) or not isinstance(value.get(name), kind) or isinstance(value.get(name), bool)
             and kind is not bool]
    if not isinstance(value, dict) or wrong:
        what = "not a JSON object" if not isinstance(value, dict) else f"no valid {', '.join(wrong)}"
        raise HomeError(f"{path} is damaged ({what}); film wrote it and reads it back. {remedy}")
    return value


def film_home() -> Path:
    return Path(os.environ.get("FILM_HOME", "data")).resolve()


def store_root() -> Path:
    return film_home() / "store"


def dagster_home() -> Path:
    """DAGSTER_HOME under FILM_HOME, created with the repo's dagster.yaml on first use, and its
    event log and run storage kept open (`event_storage.FilmEventLogStorage`,
    `run_storage.FilmRunStorage`: the same files as Dagster's own)."""
    home = film_home() / "dagster"
    config = home / "dagster.yaml"
    if not config.exists():
        home.mkdir(parents=True, exist_ok=True)
        template = REPO_ROOT / "dagster.yaml"
        if template.exists():
            shutil.copyfile(template, config)
        else:
            config.write_text(DEFAULT_INSTANCE_YAML)
    _use_film_storage(config, home / "history")
    return home


EVENT_STORAGE = "film_pipeline.event_storage"
RUN_STORAGE = "film_pipeline.run_storage"


def _use_film_storage(config: Path, history: Path) -> None:
    """Name the event and run storage in dagster.yaml, no raw step logs and a run queue that looks
    every second, each unless it configures its own (an instance configured with storage of its own,
    Postgres say, is left as it is); the absolute paths are renewed if FILM_HOME moved."""
    import yaml

    try:
        text = config.read_text()
        doc = yaml.safe_load(text) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return  # Dagster's own loading says what is wrong with it
    if not isinstance(doc, dict) or "storage" in doc:
        return
    added = [NO_COMPUTE_LOGS_YAML] if "compute_logs" not in doc else []
    if "run_queue" not in doc and "run_coordinator" not in doc:
        added.append(RUN_QUEUE_YAML)
    for key, module, template, base_dir in (("event_log_storage", EVENT_STORAGE, EVENT_STORAGE_YAML, history / "runs"),
                                            ("run_storage", RUN_STORAGE, RUN_STORAGE_YAML, history)):
        current = doc.get(key)
        if current is None:
            added.append(template.format(base_dir=base_dir))
        elif isinstance(current, dict) and current.get("module") == module:
            recorded = str((current.get("config") or {}).get("base_dir"))
            if recorded != str(base_dir):  # whole lines: one path may begin the other
                text = text.replace(f"base_dir: {recorded}\n", f"base_dir: {base_dir}\n")
                added.append("")
    if added:
        config.write_text(text.rstrip("\n") + "\n" + "".join(added))


NO_COMPUTE_LOGS_YAML = """\
# Added by film_pipeline: steps log through Dagster's structured logs (the UI's run page shows them);
# capturing their raw stdout/stderr cost two `tail -F` processes per step.
compute_logs:
  module: dagster._core.storage.noop_compute_log_manager
  class: NoOpComputeLogManager
"""

RUN_QUEUE_YAML = """\
# Added by film_pipeline: the run queue looks for queued runs every second (Dagster's default is
# every 5 s), so a run the film.yaml sensor requests starts at once.
run_queue:
  dequeue_interval_seconds: 1
"""

EVENT_STORAGE_YAML = """\
# Added by film_pipeline: Dagster's SQLite event log, its files where Dagster keeps them, with its
# connections kept open (film_pipeline/event_storage.py).
event_log_storage:
  module: film_pipeline.event_storage
  class: FilmEventLogStorage
  config:
    base_dir: {base_dir}
"""

RUN_STORAGE_YAML = """\
# Added by film_pipeline: Dagster's SQLite run storage, its file where Dagster keeps it, with its
# connection kept open (film_pipeline/run_storage.py).
run_storage:
  module: film_pipeline.run_storage
  class: FilmRunStorage
  config:
    base_dir: {base_dir}
"""


def get_instance():
    """The persistent Dagster instance the CLI and `dagster dev` share."""
    from dagster import DagsterInstance

    from dagster import DagsterInvalidConfigError
    from dagster_shared.check import CheckError
    from yaml import YAMLError

    os.environ["DAGSTER_HOME"] = str(dagster_home())
    try:
        return DagsterInstance.get()
    except (DagsterInvalidConfigError, CheckError, YAMLError) as error:
        said = str(error).splitlines()[0][:300]
        raise HomeError(f"{dagster_home() / 'dagster.yaml'} is not a valid Dagster instance configuration ({said}); "
                        f"fix it, or delete it and film writes its default again") from None


def _registry_path() -> Path:
    return film_home() / "films.json"


def registered_films() -> dict[str, Path]:
    films = read_state(_registry_path(), {}, "It lists the film folders rendered from outside FILM_HOME/films; "
                       "delete it, and `film render` those films again to list them") or {}
    if not all(isinstance(path, str) for path in films.values()):
        raise HomeError(f"{_registry_path()} is damaged (a film's folder is not a path); delete it, and "
                        f"`film render` the films outside FILM_HOME/films again to list them")
    return {slug: Path(path) for slug, path in films.items()}


def register_film(film_dir: Path) -> None:
    """Remember a rendered film dir so the code location serves it (the latest dir wins a slug).
    A symlinked film dir is remembered under its own name, as the user named it."""
    films = {slug: str(path) for slug, path in registered_films().items()}
    slug, path = film_slug(film_dir), str(film_location(film_dir))
    if films.get(slug) != path:
        films[slug] = path
        _registry_path().parent.mkdir(parents=True, exist_ok=True)
        tmp = _registry_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(films, indent=1, sort_keys=True))
        os.replace(tmp, _registry_path())


def discover_films() -> list[Path]:
    """Film dirs under $FILM_HOME/films, then registered ones; one dir per slug."""
    found: dict[str, Path] = {}
    for path in sorted((film_home() / "films").glob("*/film.yaml")):
        found.setdefault(film_slug(path.parent), film_location(path.parent))
    for slug, path in registered_films().items():
        if (path / "film.yaml").exists():
            found.setdefault(slug, path)
    return list(found.values())


def file_identity(path: Path) -> tuple[str, int, int, int, int]:
    """A file as it is now (absolute path, inode, size, mtime and ctime in ns), for what is kept of
    it by identity: the store never rewrites a file in place, so a new file is a new identity, and
    a write in place moves the ctime even where the mtime is set back. The path is made absolute
    in its text, not resolved: the inode already tells the file, and resolving asks the disk for
    every component (a feature's edit checks some 10,000 files)."""
    stat = path.stat()
    return os.path.abspath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def keep_in_cache(source: Path | str, kept: Path) -> bool:
    """Put a file (or, given a str, that text) into a cache under FILM_HOME/cache atomically: no
    reader sees half of it. A cache that cannot be written is only a cache (False)."""
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_name(f"{kept.name}.{uuid.uuid4().hex}.part")  # unique: threads write the same key too
        if isinstance(source, str):
            partial.write_text(source)
        else:
            shutil.copyfile(source, partial)
        os.replace(partial, kept)
        return True
    except OSError:
        return False


class KeptSet:
    """A set of digests kept in a file under FILM_HOME/cache, for what was found true once and stays
    true while its digest is the same (a file checked, a stream decoded): a line per digest, each
    added with one short append (whole, beside other processes' appends), the file read once per
    process; past `most` lines the newest half is kept. A file that cannot be written or read is
    only a cache: what it would have held is found again."""

    def __init__(self, path: Path, most: int = 200_000):
        self.path, self.most = path, most
        self._held: set[str] | None = None  # read on first use

    def __contains__(self, digest: str) -> bool:
        return digest in self._lines()

    def add(self, digest: str) -> None:
        held = self._lines()
        if digest in held:
            return
        held.add(digest)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(handle, f"{digest}\n".encode())
            finally:
                os.close(handle)
        except OSError:
            pass

    def _lines(self) -> set[str]:
        if self._held is None:
            try:
                lines = self.path.read_text().split()
            except (OSError, UnicodeDecodeError):
                lines = []
            if len(lines) > self.most:
                lines = lines[-(self.most // 2):]
                keep_in_cache("".join(f"{line}\n" for line in lines), self.path)
            self._held = set(lines)
        return self._held
