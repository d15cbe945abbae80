"""Content-addressed artifact storage: every rendered file under a key that names its data version.

Keys look like `<film>/<asset>/<shot>/<data_version>.<ext>` (film-level assets use `_` for the
shot). A key is written once and never overwritten, so every version stays reachable from
Dagster's materialization history. Two stores keep that promise behind one interface
(`base.ArtifactStore`): `local.LocalStore` under $FILM_HOME/store, and `s3.S3Store` for any
S3-compatible server. `open_store()` picks one from FILM_STORE.
"""

import os

from film_pipeline.store.base import ArtifactStore, IntegrityError, StoredFile, artifact_key, sha256_file, stored_dict
from film_pipeline.store.local import LocalStore

__all__ = ["ArtifactStore", "IntegrityError", "LocalStore", "StoredFile", "artifact_key", "open_store", "sha256_file",
           "store_location", "stored_dict"]


def store_location() -> str:
    """Where artifacts go: FILM_STORE (`s3://bucket/prefix`), else the local store under FILM_HOME."""
    from film_pipeline.home import store_root

    return os.environ.get("FILM_STORE") or str(store_root())


def open_store(location: str | None = None) -> ArtifactStore:
    """The store at `location` (default: `store_location()`); S3 takes its endpoint and keys from FILM_S3_*."""
    from film_pipeline.home import film_home

    location = location or store_location()
    if location.startswith("s3://"):
        from film_pipeline.store.s3 import S3Settings, S3Store

        return S3Store(S3Settings.from_env(location), film_home() / "cache")
    return LocalStore(location)
