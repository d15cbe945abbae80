"""The local artifact store: files under a root directory (`$FILM_HOME/store`), written atomically."""

import ctypes
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from film_pipeline.store.base import IntegrityError, StoredFile, StoreHelpers, sha256_file

SYNC_EACH_UP_TO = 32  # files written in `synced_together`: up to this many, an fsync each; more, one syncfs


class LocalStore(StoreHelpers):
    """The embedded default: files under a root directory (`$FILM_HOME/store`)."""

    reading_threads = 1  # a small local file is read in less time than a thread takes to hand it over

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        self._sync_each = True  # off inside `synced_together`, which records what it must sync instead
        self._unsynced: list[Path] = []
        self._inside = os.path.join(self.root, "")  # every key's path starts so

    def _path(self, key: str) -> Path:
        # `..` is undone in the key's text, without asking the disk (resolving every component took
        # half of a 10,000-shot render's start); a folder the user linked elsewhere stays theirs
        path = os.path.normpath(os.path.join(self.root, key))
        if not path.startswith(self._inside):
            raise ValueError(f"artifact key {key!r} escapes the store")
        return Path(path)

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put_file(self, key: str, source: Path, owned: bool = False) -> StoredFile:
        target = self._path(key)
        if target.exists():  # content-addressed: an existing key already holds this version
            return self.describe(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if owned and (linked := self._link(key, target, source)) is not None:
            return linked
        digest = sha256_file(source)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                if self._sync_each:
                    os.fsync(out.fileno())
            if sha256_file(Path(tmp)) != digest:
                raise IntegrityError(f"write of {key} did not verify; check the disk under {self.root}")
            self._install(Path(tmp), target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StoredFile(key, self.uri(key), digest, target.stat().st_size)

    def _link(self, key: str, target: Path, source: Path) -> StoredFile | None:
        """`source`, which its caller gives up (a step's working file, deleted after), hard-linked
        into the store: hashed once and never copied, where a copy reads it twice and writes it
        once more (a feature's cut is gigabytes). None where the file system cannot link it (the
        working directory on another device, a file system without hard links): then it is copied."""
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            os.link(source, partial, follow_symlinks=False)
        except OSError:
            return None
        try:
            os.chmod(partial, 0o600)  # as a copy made by mkstemp is
            digest = sha256_file(partial)
            if self._sync_each:
                _fsync_path(partial)
            self._install(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return StoredFile(key, self.uri(key), digest, target.stat().st_size)

    def _install(self, partial: Path, target: Path) -> None:
        """A whole file (fsynced already when each write is synced) into its key, atomically; with
        writes synced together, it waits for the batch's sync."""
        os.replace(partial, target)
        if not self._sync_each:
            self._unsynced.append(target)

    def put_bytes(self, key: str, data: bytes) -> StoredFile:
        """`put_file` for bytes in memory: written once, durably, where StoreHelpers would write a
        temporary file, hash it, copy it and hash the copy (a feature's first render saves 40,000 specs)."""
        target = self._path(key)
        if target.exists():  # content-addressed: an existing key already holds this version
            return self.describe(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                if self._sync_each:
                    os.fsync(out.fileno())
            self._install(Path(tmp), target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StoredFile(key, target.as_uri(), hashlib.sha256(data).hexdigest(), len(data))

    @contextmanager
    def synced_together(self) -> Iterator[None]:
        """Writes inside are made durable together when it ends, instead of each as it is written:
        a few by an fsync each, many by one sync of the store's file system (a 10,000-shot film's
        first render writes 40,000 specs; an edit, one or two, and a file system sync would also
        flush every other write pending on the disk: half a second after a render).
        (Every write in the process while it lasts is made durable at its end, not before.)"""
        self._sync_each, self._unsynced = False, []
        try:
            yield
        finally:
            written, self._sync_each, self._unsynced = self._unsynced, True, []
            if len(written) > SYNC_EACH_UP_TO:
                sync_file_system(self.root)
            else:  # each file, then each folder it was renamed into (the name is durable too)
                for path in [*written, *dict.fromkeys(path.parent for path in written)]:
                    _fsync_path(path)

    def keys(self, prefix: str) -> set[str]:
        """Every key under `prefix` (a folder such as `<film>/`): one directory walk, no hashing."""
        top = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        found, skip = set(), len(str(self.root)) + 1
        for folder, _, names in os.walk(top):  # a key is the path past the root (no Path per folder)
            base = folder[skip:] + "/" if len(folder) >= skip else ""
            found.update(base + name for name in names if not name.endswith(".part"))
        return found

    def rehash(self, key: str) -> str | None:
        """The sha256 of the file as it is on disk now (None when it is gone)."""
        path = self._path(key)
        return sha256_file(path) if path.is_file() else None

    def move_aside(self, key: str, into: str) -> str | None:
        """Move a stored file to `into/<key>` (kept as evidence, never deleted); None if it is gone."""
        source, target_key = self._path(key), f"{into.rstrip('/')}/{key}"
        if not source.is_file():
            return None
        target = self._path(target_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        return target_key

    def describe(self, key: str) -> StoredFile:
        path = self._path(key)
        return StoredFile(key, self.uri(key), sha256_file(path), path.stat().st_size)

    def local_path_of(self, key: str) -> Path:
        return self._path(key)

    def local_path(self, key: str, sha256: str | None = None) -> Path:
        path = self._path(key)
        if not path.exists():
            raise FileNotFoundError(f"artifact {key} is missing from the store at {self.root}; "
                                    f"`film render FILM_DIR` re-renders it")
        if sha256 and sha256_file(path) != sha256:
            raise IntegrityError(f"artifact {key} is corrupt (sha256 differs from the one recorded); "
                                 f"`film verify FILM_DIR --repair` moves it aside and re-renders it")
        return path


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_file_system(path: Path) -> None:
    """Make every write on the file system holding `path` durable: Linux's syncfs(2), one call for
    the file system (os.sync, every file system, where the C library has no syncfs)."""
    syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
    if syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"could not sync the store's disk under {path}: {os.strerror(error)}")
    finally:
        os.close(fd)
