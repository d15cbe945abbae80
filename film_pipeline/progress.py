"""A render's progress step by step, in this process: the materializer says when each step starts
and ends, and whoever listens (the `film` command's progress bar) hears it. Steps that run on
Celery workers happen in other processes: their run's end reports them all at once."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str, str, str | None], None]  # (started | finished, asset, shot)
_listeners: list[Listener] = []


@contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    if listener is None:
        yield
        return
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def report(event: str, asset: str, shot: str | None) -> None:
    for listener in list(_listeners):
        listener(event, asset, shot)
