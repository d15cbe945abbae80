"""Stored files whose sha256 was checked, remembered across runs by what the file system says of
them, as git's index and dvc's state remember a file's hash by its stat.

A step uses a stored input only after checking its bytes against the sha256 recorded when it was
written. A feature's edit did that for every clip, voice, score and soundtrack of the film, each
run: about a second of hashing at 2,000 shots, gigabytes read to learn nothing new. A file is
remembered here by its key, its recorded sha256 and its identity (`home.file_identity`: path,
inode, size, mtime and ctime); while all of these stay the same, it is not read again to check it.

- The store never rewrites a file in place, and any write, rename or `touch` moves the ctime,
  which no user can set back: a file changed by any means the file system sees is checked again.
- A file is remembered only once its ctime is `SETTLED` seconds old, so that a change in the
  same clock tick as the check cannot hide behind an unchanged stat (git's "racily clean" files).
- What no stat shows, a bit flipped by the disk itself, is found by `film verify`, which reads
  every file whatever is remembered here.

Kept in FILM_HOME/cache/verified (`home.KeptSet`): a line per file, a digest of what it is
remembered by; past `KEEP_AT_MOST` lines the newest half is kept.
"""

import hashlib
import time
from pathlib import Path

from film_pipeline.home import KeptSet, file_identity, film_home

SETTLED = 2.0  # seconds since a file's last change before its check is remembered
KEEP_AT_MOST = 200_000  # lines (about 7 MB, a 40,000-shot film's files); then the newest half is kept


def identity_of(key: str, sha256: str, path: Path) -> tuple:
    """What a stored file is remembered by: its key, the sha256 recorded for it, and the file as it
    is now (`home.file_identity`, whose last field is the ctime)."""
    return key, sha256, *file_identity(path)


class VerifiedFiles:
    """The files of one FILM_HOME whose sha256 was checked, by their identity then (`identity_of`)."""

    def __init__(self, path: Path):
        self.kept = KeptSet(path, KEEP_AT_MOST)

    def __contains__(self, identity: tuple) -> bool:
        return _digest(identity) in self.kept

    def remember(self, identity: tuple) -> None:
        """The file was just read and matched its sha256: remember it, if it has settled."""
        if time.time_ns() - identity[-1] >= SETTLED * 1e9:
            self.kept.add(_digest(identity))


def _digest(identity: tuple) -> str:
    return hashlib.sha256("|".join(map(str, identity)).encode()).hexdigest()[:32]


_opened: dict[Path, VerifiedFiles] = {}


def verified_files() -> VerifiedFiles:
    """The memo of the FILM_HOME this process works in now."""
    path = film_home() / "cache" / "verified"
    if path not in _opened:
        _opened[path] = VerifiedFiles(path)
    return _opened[path]
