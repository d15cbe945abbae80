"""Content-addressed artifact storage: every rendered file under a key that names its data version.

Keys look like `<film>/<asset>/<shot>/<data_version>.<ext>` (film-level assets use `_` for the
shot). A key is written once and never overwritten, so every version stays reachable from
Dagster's materialization history. Writes are atomic (temp file, fsync, rename) and every read
can check the sha256 recorded at write time.

Each rendered artifact ends with a manifest (`<data_version>.json`) listing its files and their
hashes. The manifest is written last: if it exists the artifact is complete, so a crash mid-render
leaves nothing a later step could mistake for a result, and a render whose inputs match an
existing manifest is reused instead of regenerated.
"""

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol


class IntegrityError(RuntimeError):
    """A stored file no longer matches the sha256 recorded when it was written."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    uri: str
    sha256: str
    bytes: int


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artifact_key(film: str, asset: str, shot: str | None, version: str, ext: str) -> str:
    return f"{film}/{asset}/{shot or '_'}/{version}.{ext}"


class ArtifactStore(Protocol):
    """What stages may do with storage; every implementation keeps keys write-once and verified."""

    def put_file(self, key: str, source: Path) -> StoredFile: ...
    def put_bytes(self, key: str, data: bytes) -> StoredFile: ...
    def put_json(self, key: str, value: dict) -> StoredFile: ...
    def exists(self, key: str) -> bool: ...
    def local_path(self, key: str, sha256: str | None = None) -> Path: ...
    def read_json(self, key: str) -> dict: ...
    def uri(self, key: str) -> str: ...


class StoreHelpers:
    """Bytes and JSON on top of any store's `put_file` and `local_path`."""

    def put_bytes(self, key: str, data: bytes) -> StoredFile:
        with tempfile.NamedTemporaryFile(delete=False) as tmp:
            tmp.write(data)
        try:
            return self.put_file(key, Path(tmp.name))
        finally:
            os.unlink(tmp.name)

    def put_json(self, key: str, value: dict) -> StoredFile:
        return self.put_bytes(key, json.dumps(value, sort_keys=True, indent=1).encode())

    def read_json(self, key: str) -> dict:
        return json.loads(self.local_path(key).read_text())


class LocalStore(StoreHelpers):
    """The embedded default: files under a root directory (`$FILM_HOME/store`)."""

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"artifact key {key!r} escapes the store")
        return path

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put_file(self, key: str, source: Path) -> StoredFile:
        target = self._path(key)
        if target.exists():  # content-addressed: an existing key already holds this version
            return self.describe(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = sha256_file(source)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            if sha256_file(Path(tmp)) != digest:
                raise IntegrityError(f"write of {key} did not verify; check the disk under {self.root}")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StoredFile(key, self.uri(key), digest, target.stat().st_size)

    def describe(self, key: str) -> StoredFile:
        path = self._path(key)
        return StoredFile(key, self.uri(key), sha256_file(path), path.stat().st_size)

    def local_path(self, key: str, sha256: str | None = None) -> Path:
        path = self._path(key)
        if not path.exists():
            raise FileNotFoundError(f"artifact {key} is missing from the store at {self.root}; re-render it")
        if sha256 and sha256_file(path) != sha256:
            raise IntegrityError(f"artifact {key} is corrupt (sha256 differs from the one recorded); "
                                 f"delete {path} and re-render")
        return path


def stored_dict(stored: StoredFile) -> dict:
    return asdict(stored)


def store_location() -> str:
    """Where artifacts go: FILM_STORE (`s3://bucket/prefix`), else the local store under FILM_HOME."""
    from film_pipeline.home import store_root

    return os.environ.get("FILM_STORE") or str(store_root())


def open_store(location: str | None = None) -> ArtifactStore:
    """The store at `location` (default: `store_location()`); S3 takes its endpoint and keys from FILM_S3_*."""
    from film_pipeline.home import film_home

    location = location or store_location()
    if location.startswith("s3://"):
        from film_pipeline.s3store import S3Settings, S3Store

        return S3Store(S3Settings.from_env(location), film_home() / "cache")
    return LocalStore(location)
