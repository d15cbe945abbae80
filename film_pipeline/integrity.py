"""Whether the current version of each artifact is whole in the store, and setting damage aside.

`film render`, `plan` and `status` ask `StoredArtifacts.missing`: one listing of the film's keys,
then a set lookup per file (a stat's worth of work, no hashing). `film verify` asks `damage`:
every file of the current versions re-hashed against the sha256 its manifest recorded.

Repair never deletes. A damaged version's files (its manifest included) move to the store's attic,
`_attic/<UTC time>/<their key>`, as evidence; the next render finds the version gone and renders
it again. Its data version is the same (it hashes inputs, not bytes), so nothing downstream moves.
"""

import json
import time
from dataclasses import asdict, dataclass

from film_pipeline.store import ArtifactStore, artifact_key
from film_pipeline.store.base import ATTIC


@dataclass(frozen=True)
class Damage:
    asset: str
    shot: str | None
    version: str
    key: str          # the file found damaged
    problem: str      # missing | corrupt

    @property
    def label(self) -> str:
        return f"{self.asset}[{self.shot}]" if self.shot else self.asset

    def as_dict(self) -> dict:
        return asdict(self)


def attic_folder() -> str:
    """Where one repair moves what it sets aside (one folder per repair, by UTC time)."""
    return f"{ATTIC}/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"


class StoredArtifacts:
    """One film's artifact versions as the store holds them now."""

    def __init__(self, store: ArtifactStore, film: str):
        self.store, self.film = store, film
        self._listed: dict[str, set[str]] = {}

    def manifest_key(self, name: str, shot: str | None, version: str) -> str:
        return artifact_key(self.film, name, shot, version, "json")

    def listing(self, key: str) -> set[str]:
        """The keys in the folder of `key`'s asset (`<film>/<asset>/`), listed once per asset: the
        planner asks about the assets that render, so the specs' folders (half of a film's
        folders, one per shot each) are never walked."""
        folder = "/".join(key.split("/", 2)[:2]) + "/"
        if folder not in self._listed:
            self._listed[folder] = self.store.keys(folder)
        return self._listed[folder]

    def missing(self, name: str, shot: str | None, version: str) -> Damage | None:
        """The first file of this version that is gone from the store (the manifest first)."""
        manifest_key = self.manifest_key(name, shot, version)
        if manifest_key not in self.listing(manifest_key):
            return Damage(name, shot, version, manifest_key, "missing")
        try:
            manifest = self.store.read_json(manifest_key)
        except (ValueError, OSError):  # unreadable: as good as gone
            return Damage(name, shot, version, manifest_key, "corrupt")
        for stored in manifest.get("files", {}).values():
            if stored["key"] not in self.listing(stored["key"]):
                return Damage(name, shot, version, stored["key"], "missing")
        return None

    def damage(self, name: str, shot: str | None, version: str) -> list[Damage]:
        """Every file of this version that is gone or whose bytes no longer hash as recorded."""
        manifest_key = self.manifest_key(name, shot, version)
        if self.store.rehash(manifest_key) is None:  # rehash also refreshes a cached copy
            return [Damage(name, shot, version, manifest_key, "missing")]
        try:
            files = json.loads(self.store.local_path(manifest_key).read_text())["files"]
        except (ValueError, KeyError, TypeError):
            return [Damage(name, shot, version, manifest_key, "corrupt")]
        found = []
        for stored in files.values():
            digest = self.store.rehash(stored["key"])
            if digest != stored["sha256"]:
                found.append(Damage(name, shot, version, stored["key"], "missing" if digest is None else "corrupt"))
        return found

    def set_aside(self, name: str, shot: str | None, version: str, attic: str) -> list[str]:
        """Move every stored file of this version (manifest and all) into `attic`; their new keys."""
        prefix = self.manifest_key(name, shot, version)[: -len("json")]
        moved = [self.store.move_aside(key, attic) for key in sorted(self.store.keys(prefix.rsplit("/", 1)[0] + "/"))
                 if key.startswith(prefix)]
        self._keys = None
        return [key for key in moved if key]
