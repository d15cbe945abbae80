"""The store's interface: content-addressed keys, the file record, and what every store must do.

A key is written once and never overwritten; writes are atomic (temp file, fsync, rename) and
every read can check the sha256 recorded at write time.

Each rendered artifact ends with a manifest (`<data_version>.json`) listing its files and their
hashes. The manifest is written last: if it exists the artifact is complete, so a crash mid-render
leaves nothing a later step could mistake for a result, and a render whose inputs match an
existing manifest is reused instead of regenerated.
"""

import hashlib
import json
import os
import tempfile
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ContextManager, Protocol


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


# Damaged or replaced files are moved here, never deleted: `_attic/<UTC time>/<their key>`.
ATTIC = "_attic"


class ArtifactStore(Protocol):
    """What stages may do with storage; every implementation keeps keys write-once and verified."""

    reading_threads: int  # how many reads a caller with many should run at once (1: one after another)

    def put_file(self, key: str, source: Path, owned: bool = False) -> StoredFile: ...  # owned: the caller gives it up
    def put_bytes(self, key: str, data: bytes) -> StoredFile: ...
    def put_json(self, key: str, value: dict) -> StoredFile: ...
    def synced_together(self) -> ContextManager[None]: ...
    def exists(self, key: str) -> bool: ...
    def local_path(self, key: str, sha256: str | None = None) -> Path: ...
    def local_path_of(self, key: str) -> Path: ...  # where local_path finds `key`: nothing checked or fetched
    def read_json(self, key: str) -> dict: ...
    def uri(self, key: str) -> str: ...
    # integrity and repair (film verify, and a render that finds a stored file gone)
    def keys(self, prefix: str) -> set[str]: ...
    def rehash(self, key: str) -> str | None: ...
    def move_aside(self, key: str, into: str) -> str | None: ...


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

    def synced_together(self) -> ContextManager[None]:
        """Writes inside are durable when it ends (a store whose writes are durable one by one, S3, has nothing to do)."""
        return nullcontext()

    def read_json(self, key: str) -> dict:
        return json.loads(self.local_path(key).read_text())


def stored_dict(stored: StoredFile) -> dict:
    return asdict(stored)
