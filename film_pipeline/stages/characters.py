"""characters: one reference image per character version, rendered once and kept in the store.

A reference is keyed by the keyframe backend (name, version, settings) and the character's
name, description and seed, so the `characters` asset and every storyboard that conditions on a
character read the very same image, and editing one character re-renders only the shots it is
in. Backends with an image prompt (IP-Adapter) make it with `reference()`; the others paint a
portrait of the character, which the `characters` asset shows as the film's cast.
"""

import tempfile
from dataclasses import asdict
from pathlib import Path

from PIL import Image

from film_pipeline import edit
from film_pipeline.backends import CharacterLook, KeyframeRequest
from film_pipeline.specs import version_of
from film_pipeline.stages import Backends, Rendered, device_of, model_id
from film_pipeline.store import ArtifactStore, artifact_key

PORTRAIT_SIZE = (256, 256)


def conditions_on_references(backend) -> bool:
    return bool(getattr(backend, "adapter_scale", 0))


def reference_image(store: ArtifactStore, film: str, backend, ident: dict, look: CharacterLook) -> Image.Image:
    key = artifact_key(film, "character_ref", look.name, version_of(ident, asdict(look)), "png")
    if not store.exists(key):
        if conditions_on_references(backend):
            image = backend.reference(look.name, look.description, look.seed)
        else:
            request = KeyframeRequest(f"{look.name}, {look.description}, full figure", None, (look,), look.seed,
                                      PORTRAIT_SIZE)
            image = backend.paint(request)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "reference.png"
            image.save(path)
            store.put_file(key, path)
    return Image.open(store.local_path(key)).convert("RGB")


def render(spec: dict, backends: Backends, store: ArtifactStore, film: str, workdir: Path) -> Rendered:
    """The cast sheet and each character's reference (kept in `store` for the storyboards)."""
    backend = backends("keyframe", spec["backend"])
    cast = [(c["name"], reference_image(store, film, backend, spec["backend"], CharacterLook(**c)))
            for c in spec["characters"]]
    files = {"contact_sheet": workdir / "cast.png"}
    edit.contact_sheet(cast, columns=6, tile_width=160).save(files["contact_sheet"])
    for name, image in cast:
        files[f"ref-{name}"] = workdir / f"{name}.png"
        image.save(files[f"ref-{name}"])
    return files, {"backend": backend.name, "model": model_id(spec["backend"]), "device": device_of(backend),
                   "characters": len(cast),
                   "seed": ", ".join(f"{c['name']}={c['seed']}" for c in spec["characters"]) or "none",
                   "conditions_shots": conditions_on_references(backend)}
