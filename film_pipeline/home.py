"""$FILM_HOME: where renders, the Dagster instance and the list of known films live.

Layout (default `./data`):
  films/<film>/film.yaml   films the code location serves (the demo lives here)
  store/                   the local artifact store (content-addressed)
  dagster/                 DAGSTER_HOME: dagster.yaml and the SQLite run/event storage
  films.json               every film dir `film render` has seen, so the UI shows it too
"""

import json
import os
import shutil
from pathlib import Path

from film_pipeline.film import film_location, film_slug

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_YAML = "telemetry:\n  enabled: false\n"


def film_home() -> Path:
    return Path(os.environ.get("FILM_HOME", "data")).resolve()


def store_root() -> Path:
    return film_home() / "store"


def dagster_home() -> Path:
    """DAGSTER_HOME under FILM_HOME, created with the repo's dagster.yaml on first use."""
    home = film_home() / "dagster"
    config = home / "dagster.yaml"
    if not config.exists():
        home.mkdir(parents=True, exist_ok=True)
        template = REPO_ROOT / "dagster.yaml"
        if template.exists():
            shutil.copyfile(template, config)
        else:
            config.write_text(DEFAULT_INSTANCE_YAML)
    return home


def get_instance():
    """The persistent Dagster instance the CLI and `dagster dev` share."""
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = str(dagster_home())
    return DagsterInstance.get()


def _registry_path() -> Path:
    return film_home() / "films.json"


def registered_films() -> dict[str, Path]:
    try:
        return {slug: Path(path) for slug, path in json.loads(_registry_path().read_text()).items()}
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


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
