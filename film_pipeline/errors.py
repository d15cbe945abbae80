"""What a failure means to the person at the terminal: the `film` command's exit codes, and the
failures that are not a step's own fault (a full disk, a read-only FILM_HOME, the object store
down or refusing the keys, Ctrl-C), recognised wherever they surface: raised here, or recorded
as a step's failure message in a run.
"""

import errno
import sqlite3

# The `film` command's exit codes (README: "Exit codes")
OK, STEP_FAILED, BAD_INPUT, BUSY, STORE, WORKERS, CANNOT_WRITE, INTERRUPTED = 0, 1, 2, 3, 4, 5, 6, 130

# errno values that say FILM_HOME (or the store's directory) cannot take a write
_CANNOT_WRITE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}
# how SQLite and the OS say it, in messages that crossed a process (a run's recorded failure)
_CANNOT_WRITE_WORDS = ("database or disk is full", "attempt to write a readonly database", "unable to open database file",
                       "No space left on device", "Read-only file system", "Disk quota exceeded", "[Errno 28]", "[Errno 30]")
_STORE_ERRORS = ("StoreUnavailableError", "StoreAuthError")
_INTERRUPTED = ("DagsterExecutionInterruptedError", "KeyboardInterrupt")


class CannotWriteError(OSError):
    """FILM_HOME, its Dagster instance or the local store cannot be written: full, read-only or not ours."""

    def __init__(self, path, reason: str):
        super().__init__(f"cannot write to {path}: {reason}. Free some space or make it writable (or point "
                         f"FILM_HOME at a writable directory), then run the same command again: nothing already "
                         f"rendered is lost, and the render resumes where it stopped")
        self.path = path


def _chain(error: BaseException):
    """The error, what caused it, and the DB-API error SQLAlchemy keeps as `.orig`."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        if getattr(error, "orig", None) is not None:
            yield error.orig
        error = error.__cause__ or error.__context__


def cannot_write(error: BaseException, home) -> CannotWriteError | None:
    """A CannotWriteError when `error` (or what caused it) is a full or read-only disk, else None."""
    for cause in _chain(error):
        if isinstance(cause, CannotWriteError):
            return cause
        if isinstance(cause, OSError) and cause.errno in _CANNOT_WRITE:
            return CannotWriteError(cause.filename or home, cause.strerror or str(cause))
        said = str(cause).splitlines()[0] if str(cause) else ""
        if isinstance(cause, sqlite3.Error) or type(cause).__name__ == "OperationalError":
            if any(words in said for words in _CANNOT_WRITE_WORDS):
                return CannotWriteError(home, said.removeprefix("(sqlite3.OperationalError) "))
    return None


def failure_kind(message: str) -> int:
    """The exit code a run's recorded failure message calls for (a step's own error is STEP_FAILED)."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    if any(name in first for name in _INTERRUPTED):
        return INTERRUPTED
    if any(name in first for name in _STORE_ERRORS):
        return STORE
    if any(words in message for words in _CANNOT_WRITE_WORDS):
        return CANNOT_WRITE
    return STEP_FAILED
