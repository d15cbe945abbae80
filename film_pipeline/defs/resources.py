"""The resources every film's assets share: the artifact store and the run-wide settings."""

import dagster as dg

from film_pipeline.store import ArtifactStore, open_store


class StoreResource(dg.ConfigurableResource):
    """Where artifacts live: a local directory, or `s3://bucket/prefix` (endpoint and keys come
    from FILM_S3_* in the environment when a step runs, never from config, so they never show)."""

    location: str

    def get(self) -> ArtifactStore:
        return open_store(self.location)


class RenderSettings(dg.ConfigurableResource):
    """Run-wide settings: a profile that overrides each film's own (empty: the film's)."""

    profile: str = ""
