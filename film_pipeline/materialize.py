"""The materializer: one content-addressed cache in front of every stage.

An artifact's version hashes its stage's code version with its inputs' versions, as Dagster's
own logical version does; that version is also its key in the store. `materialize` looks the
version up and reuses it (this film's own, or an identical one another film made), or runs the
stage in a fresh working directory, stores its files, then its manifest (last: a manifest in
the store means a complete artifact), and describes the result to Dagster: data version,
sha256, uri, seconds, cost, device, provenance, and pictures for the UI. Out of GPU memory, a
step is retried once with the memory savers on; an unreachable object store, twice.

`ArtifactCache` is the store side alone (no Dagster): what a version's manifest is, whether it
exists, and saving one.
"""

import base64
import io
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import dagster as dg
from PIL import Image

from film_pipeline import progress
from film_pipeline.backends import is_out_of_memory, loaded_backends, release_accelerator_memory
from film_pipeline.cost import Prices
from film_pipeline.integrity import StoredArtifacts, attic_folder
from film_pipeline.planning import FORCE_TAG
from film_pipeline.media import peak_memory_mb, reset_peak_memory, thumbnail
from film_pipeline.versions import artifact_version
from film_pipeline.stages import Rendered
from film_pipeline.stages.previews import CLIP_TAKE_PREVIEW, KEYFRAME_TAKE, take_note
from film_pipeline.store import ArtifactStore, artifact_key, stored_dict
from film_pipeline.store.s3 import StoreUnavailableError
from film_pipeline.workers import current_worker

# Artifacts actually generated (not reused) in this process, by asset: what "undo for free" counts.
GENERATIONS: Counter = Counter()
# pictures shown as they are (a storyboard's takes, `take<N>`, are shown each with its score)
PREVIEW_ROLES = ("end", "takes_sheet", "poster", "contact_sheet", "frame")


def is_forced(context, name: str, shot: str | None) -> bool:
    value = context.run.tags.get(FORCE_TAG) if context.run else None
    return bool(value) and [name, shot] in json.loads(value)


def shared_key(name: str, version: str) -> str:
    """Where any film finds an artifact version another film already made (content-addressed)."""
    return artifact_key("_shared", name, None, version, "json")


def file_ext(role: str, path: Path) -> str:
    """Files of one artifact share its version; the role keeps them apart (`<v>.take2.png`)."""
    primary = role in ("video", "audio", "take1")
    return path.suffix.lstrip(".") if primary else f"{role}{path.suffix}"


class ArtifactCache:
    """One film's artifact versions in the store: manifests, reuse across films, saving."""

    def __init__(self, store: ArtifactStore, film: str):
        self.store, self.film = store, film

    def manifest_key(self, name: str, shot: str | None, version: str) -> str:
        return artifact_key(self.film, name, shot, version, "json")

    def lookup(self, name: str, shot: str | None, version: str) -> dict | None:
        """This version's manifest if the store has it whole: this film's own, or another film's copied
        over (an identical shot in two films is made once). Every file is verified on the way: a
        corrupt one is an error that says how to repair it; a version with a file gone is set aside
        (`integrity`), so the caller renders it again."""
        store, manifest_key = self.store, self.manifest_key(name, shot, version)
        if store.exists(manifest_key):
            manifest = store.read_json(manifest_key)
            try:
                for stored in manifest["files"].values():
                    # the store must hold it: a good copy in a local cache (S3) does not count
                    if not store.exists(stored["key"]):
                        raise FileNotFoundError(stored["key"])
                    store.local_path(stored["key"], stored["sha256"])
                return manifest
            except FileNotFoundError:
                self.set_aside(name, shot, version)
        original = self._shared_manifest(name, version, manifest_key)
        if original is None:
            return None
        files = {role: self.put(name, shot, version, role, store.local_path(f["key"], f["sha256"]), Path(f["key"]))
                 for role, f in original["files"].items()}
        manifest = {**original, "shot": shot, "files": files, "reused_from": original["files"][original["primary"]]["key"]}
        store.put_json(manifest_key, manifest)
        return manifest

    def _shared_manifest(self, name: str, version: str, own_key: str) -> dict | None:
        """The manifest another film made of this version, if it is still whole in the store."""
        store = self.store
        if not store.exists(shared_key(name, version)):
            return None
        original_key = store.read_json(shared_key(name, version))["manifest"]
        if original_key == own_key or not store.exists(original_key):
            return None
        original = store.read_json(original_key)
        return original if all(store.exists(f["key"]) for f in original["files"].values()) else None

    def set_aside(self, name: str, shot: str | None, version: str) -> list[str]:
        """Move what the store holds of this version to the attic (kept, never deleted)."""
        return StoredArtifacts(self.store, self.film).set_aside(name, shot, version, attic_folder())

    def key_of(self, name: str, shot: str | None, version: str, role: str, path: Path) -> str:
        """The key a step's file in `role`, named like `path`, is stored under (known before it is)."""
        return artifact_key(self.film, name, shot, version, file_ext(role, path))

    def put(self, name: str, shot: str | None, version: str, role: str, path: Path, named: Path | None = None,
            owned: bool = False) -> dict:
        key = self.key_of(name, shot, version, role, named or path)
        return stored_dict(self.store.put_file(key, path, owned=owned))

    def put_files(self, name: str, shot: str | None, version: str, files: dict[str, Path],
                  workdir: Path | None = None) -> dict[str, dict]:
        """Store a step's files; those it made in `workdir` (deleted after) the store may take
        as they are (`owned`: a local store links them instead of copying)."""
        return {role: self.put(name, shot, version, role, path, owned=_made_in(path, workdir))
                for role, path in files.items()}

    def save(self, name: str, shot: str | None, version: str, stored: dict[str, dict], info: dict, specs: dict) -> dict:
        """Write the manifest that says the stored files are complete, then the shared pointer."""
        manifest = {"asset": name, "shot": shot, "version": version, "primary": next(iter(stored)),
                    "files": stored, "info": info, "specs": specs}
        manifest_key = self.manifest_key(name, shot, version)
        self.store.put_json(manifest_key, manifest)
        self.store.put_json(shared_key(name, version), {"manifest": manifest_key})
        return manifest


class Provenance(Protocol):
    """What an artifact was made under, looked up only when it is really made."""

    def provenance(self, shot: str | None) -> dict: ...
    def spec_versions(self, shot: str | None) -> dict[str, str]: ...


def materialize(context, cache: ArtifactCache, name: str, shot: str | None, inputs: list,
                make: Callable[[Path], Rendered], provenance: Provenance) -> dg.MaterializeResult:
    """Reuse the version `inputs` make, or render it with `make(workdir) -> (files, info)`."""
    version = artifact_version(name, inputs)
    # which worker ran this step, and how many models it held already (kept between tasks)
    where = {"worker": current_worker(), "worker_pid": dg.MetadataValue.int(os.getpid()),
             "models_already_loaded": dg.MetadataValue.int(loaded_backends())}
    what = f"{name}[{shot or '-'}]"
    progress.report("started", name, shot)
    if is_forced(context, name, shot):
        moved = cache.set_aside(name, shot, version)
        context.log.info(f"{what} {version}: forced to re-render"
                         + (f"; the previous files are kept in the store's attic ({moved[0].split('/')[1]})" if moved else ""))
        manifest = None
    else:
        manifest = cache.lookup(name, shot, version)
    reused = manifest is not None
    if reused:
        origin = manifest.get("reused_from")
        context.log.info(f"{what} {version} is already in the store"
                         f"{f' (made for {origin})' if origin else ''}: reused, not re-rendered")
        # the history shows the shot at hand (its prompt, its profile), not the one it was made for
        manifest = {**manifest, "info": {**manifest["info"], **provenance.provenance(shot)}}
    else:
        manifest = _render(context, cache, name, shot, version, make, provenance)
        context.log.info(f"{what} rendered in {manifest['info']['seconds']:.2f}s")
    result = dg.MaterializeResult(data_version=dg.DataVersion(version),
                                  metadata={**metadata(cache.store, manifest, reused), **where})
    progress.report("finished", name, shot)
    return result


def _render(context, cache: ArtifactCache, name: str, shot: str | None, version: str,
            make: Callable[[Path], Rendered], provenance: Provenance) -> dict:
    GENERATIONS[name] += 1
    started = time.perf_counter()
    reset_peak_memory()
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as workdir:
        files, info = _retry_if_transient(context, name, shot, make, Path(workdir))
        stored = cache.put_files(name, shot, version, files, Path(workdir))
    info["seconds"] = round(time.perf_counter() - started, 3)
    info["peak_rss_mb"] = peak_memory_mb()
    info.setdefault("device", "cpu")
    info.update({k: v for k, v in provenance.provenance(shot).items() if k not in info})
    return cache.save(name, shot, version, stored, info, provenance.spec_versions(shot))


def _made_in(path: Path, workdir: Path | None) -> bool:
    """Whether `path` is a plain file the step wrote inside `workdir` (not a link to a file elsewhere)."""
    if workdir is None or Path(path).is_symlink():
        return False
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(workdir))


def _retry_if_transient(context, name: str, shot: str | None, make, workdir: Path):
    """Out of GPU memory: retry once with the memory savers on. An unreachable store: retry twice."""
    try:
        return make(workdir)
    except Exception as error:
        what = f"{name}[{shot}]" if shot else name
        if is_out_of_memory(error):
            release_accelerator_memory()
            context.log.warning(f"{what} ran out of accelerator memory; retrying with the memory savers on")
            raise dg.RetryRequested(max_retries=1, seconds_to_wait=1) from error
        if isinstance(error, StoreUnavailableError):
            context.log.warning(f"{what}: {error}; retrying")
            raise dg.RetryRequested(max_retries=2, seconds_to_wait=5) from error
        raise


def metadata(store: ArtifactStore, manifest: dict, reused: bool) -> dict:
    """The manifest as the UI's metadata panel shows it: uri, hash, cost, facts and pictures.

    A storyboard shows every keyframe take with its score, the best starred. Which take a clip
    starts from is the clip's business (its motion spec's `pick`), so the clip shows the keyframe
    in use (`keyframe_in_use`, `preview_keyframe`), and an animated preview of each of its takes."""
    primary = manifest["files"][manifest["primary"]]
    info = manifest["info"]
    meta = {
        "uri": dg.MetadataValue.url(primary["uri"]), "sha256": primary["sha256"],
        "bytes": dg.MetadataValue.int(primary["bytes"]),
        "seconds": dg.MetadataValue.float(float(info["seconds"])), "reused": reused,
        "cost_usd": round(Prices.from_env().of(float(info["seconds"]), info.get("device", "cpu")), 6),
        "path": dg.MetadataValue.path(str(store.local_path(primary["key"]))),
    }
    for key, value in info.items():
        if key in meta:
            continue
        if isinstance(value, dict) and "md" in value:
            meta[key] = dg.MetadataValue.md(value["md"])
        elif isinstance(value, (str, int, float, bool)):
            meta[key] = value

    def picture(key: str, caption: str, note: str = "") -> dg.MetadataValue:
        shown = image_markdown(Image.open(store.local_path(key)), caption=caption)
        return dg.MetadataValue.md(f"{shown.value}\n\n{note}") if note else shown

    def webp(key: str) -> str:
        return "data:image/webp;base64," + base64.b64encode(store.local_path(key).read_bytes()).decode()

    if manifest.get("asset") == "clip":
        if info.get("pick") is not None:
            meta["keyframe_in_use"] = f"take {info['pick']}"
        if info.get("clip_takes", 1) > 1 and info.get("clip_take") is not None:
            meta["clip_take_in_use"] = f"clip take {info['clip_take']}" + (
                " ★ best" if info["clip_take"] == info.get("clip_best") else "")
        keyframe = info.get("keyframe")
        if isinstance(keyframe, str) and keyframe.endswith(".png") and store.exists(keyframe):
            meta["preview_keyframe"] = picture(keyframe, "keyframe in use",
                                               f"**{meta.get('keyframe_in_use', 'the keyframe')}** in use")
    for role, stored in manifest["files"].items():
        if (take := KEYFRAME_TAKE.fullmatch(role)) and stored["key"].endswith(".png"):  # every take, the best starred
            meta[f"preview_{role}"] = picture(stored["key"], role, take_note(
                f"take {take[1]}", info.get("scores"), int(take[1]), info.get("best_take")))
        elif stored["key"].endswith(".png") and (role in PREVIEW_ROLES or role.startswith("ref-")):
            meta[f"preview_{role}"] = picture(stored["key"], role)
        elif role == "preview":  # an animated WebP, small enough to live in the event log
            meta["preview_motion"] = dg.MetadataValue.md(f"![motion]({webp(stored['key'])})")
        elif take := CLIP_TAKE_PREVIEW.fullmatch(role):  # the animated preview of a clip take not chosen
            note = take_note(f"clip take {take[1]}", info.get("clip_scores"), int(take[1]), info.get("clip_best"))
            meta[f"preview_motion_take{take[1]}"] = dg.MetadataValue.md(
                f"![clip take {take[1]}]({webp(stored['key'])})\n\n{note}")
    return meta


def image_markdown(image: Image.Image, width: int = 320, caption: str = "") -> dg.MetadataValue:
    """An inline picture for the asset's metadata panel in the UI."""
    buffer = io.BytesIO()
    thumbnail(image, width).save(buffer, format="JPEG", quality=82)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return dg.MetadataValue.md(f"![{caption}](data:image/jpeg;base64,{encoded})")

