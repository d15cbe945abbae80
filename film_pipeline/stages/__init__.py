"""The stages: one module per asset, each a plain function from its inputs to files and facts.

A stage knows nothing of Dagster, versions or manifests. It is given its spec (plain data, as
`specs.py` builds it), its upstream artifacts as local files, a way to get a backend
(`backends(stage, ident)`), a logger and a working directory (and, for the two that keep
character references, the store those live in), and returns `(files, info)`: `{role: path}` of what it wrote there, and the facts
that go into the artifact's manifest and the UI's metadata. `materialize.py` decides whether a
stage runs at all; `defs/assets.py` finds the inputs and records the result.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

Rendered = tuple[dict[str, Path], dict]
Backends = Callable[[str, dict], Any]


class Log(Protocol):
    """What stages report through: Dagster's `context.log`, or a `logging.Logger` in tests."""

    def info(self, msg: str) -> Any: ...
    def warning(self, msg: str) -> Any: ...


def model_id(ident: dict) -> str:
    """The model a backend runs (a hub id, a package, or the backend itself when it has none)."""
    return str(ident["settings"].get("model") or ident["backend"])


def device_of(backend) -> str:
    """Where a backend computes: its torch device if it has one, else the CPU."""
    return str(getattr(backend, "device", "cpu")).split(":")[0]
