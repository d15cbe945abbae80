"""One shared small film for the model-family tests: every family is switched in with nothing but
a `models:` override on the tiny profile and rendered through `film render`'s own code path.

`render_family(home, {"motion": {"model": "tiny:wan-i2v", "pipeline": "WanImageToVideoPipeline"}})`
writes the film under `home`, renders it, and returns the result and a reader of each asset's
latest metadata (`meta("clip", "a")["frames"]`).
"""

import dagster as dg
from ruamel.yaml import YAML

from film_pipeline.home import get_instance
from film_pipeline.render import render_film
from film_pipeline_tests.conftest import write_film

FAMILY_FILM = """\
title: Families
profile: tiny
fps: 8
resolution: [64, 40]
upscale: 1
seed: 5
music:
  - {id: theme, prompt: calm theme}
shots:
  - {id: a, prompt: a lighthouse at dusk, duration: 1.0, narration: hello}
  - {id: b, prompt: the sea at night, duration: 1.5, camera: pan_left}
"""


def family_film_text(models: dict, text: str = FAMILY_FILM) -> str:
    """FAMILY_FILM with `models:` set (as a writer would type it)."""
    import io

    doc = YAML().load(text)
    doc["models"] = models
    out = io.StringIO()
    YAML().dump(doc, out)
    return out.getvalue()


def render_family(home, models: dict, text: str = FAMILY_FILM, name: str = "families"):
    """Render the shared film with these `models:` overrides: (result, meta(asset, shot=None) -> metadata)."""
    film_dir = write_film(home, family_film_text(models, text), name=name)
    result = render_film(film_dir)

    def meta(asset: str, shot: str | None = None) -> dict:
        record = get_instance().get_latest_data_version_record(dg.AssetKey([name, asset]), False, shot)
        return {k: v.value for k, v in record.event_log_entry.asset_materialization.metadata.items()}

    return result, meta
