"""The benchmarks' FILM_HOME: a given one (kept) or a fresh temporary one, with the demo film in it."""

import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def demo_home(given: Path | None, prefix: str) -> tuple[Path, Path]:
    """Sets FILM_HOME and returns (home, the demo's film dir), copying the demo in on first use."""
    home = given or Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["FILM_HOME"] = str(home)
    film_dir = home / "films" / "demo"
    if not film_dir.exists():
        shutil.copytree(REPO / "data" / "films" / "demo", film_dir)
    return home, film_dir
