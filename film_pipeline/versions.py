"""Data versions: a short stable hash of JSON-able parts, and an artifact's version from its inputs'.

An artifact's version hashes its stage's code version with its inputs' versions, as Dagster's own
logical version does; that version is also its key in the store. Nothing here imports more than
the stage table, so planning a film costs no import of the rendering code.
"""

import hashlib
import json

from film_pipeline.graph import CODE_VERSIONS


def version_of(*parts: object) -> str:
    """A short stable hash of JSON-able parts: the data version of a spec or an artifact."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def artifact_version(name: str, inputs: list) -> str:
    """The data version of a stage's artifact made from these input versions."""
    return version_of(name, CODE_VERSIONS[name], inputs)
