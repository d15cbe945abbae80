"""One film's names in Dagster: its asset keys (under the film's slug), shot partitions and jobs."""

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from film_pipeline.film import film_location, film_slug
from film_pipeline.graph import ASSET_NAMES, SOURCES
from film_pipeline.records import latest_version
from film_pipeline.store import artifact_key


class _Name:
    """A name of one of the film's jobs or sensors: the film's slug, then what it is."""

    def __init__(self, suffix: str):
        self.suffix = suffix

    def __get__(self, graph, owner=None) -> str:
        return f"{graph.slug}__{self.suffix}"


@dataclass(frozen=True)
class FilmGraph:
    slug: str
    film_dir: Path
    partitions: dg.DynamicPartitionsDefinition

    asset_names = ASSET_NAMES
    shot_job = _Name("render_shot")
    film_job = _Name("render_film")
    edit_job = _Name("render_shot_and_cut")
    observe_job = _Name("observe_specs")
    check_shot_job = _Name("check_shot")
    check_film_job = _Name("check_film")
    watch_sensor = _Name("on_edit")
    automation_sensor = _Name("automation")

    @property
    def render_jobs(self) -> tuple[str, str, str]:
        """The jobs whose runs render the film (not observe or check it)."""
        return self.shot_job, self.film_job, self.edit_job

    @classmethod
    def of(cls, film_dir: Path | str) -> "FilmGraph":
        film_dir = film_location(film_dir)  # a symlinked film dir keeps its own name
        slug = film_slug(film_dir)
        return cls(slug, film_dir, dg.DynamicPartitionsDefinition(name=f"{slug}__shots"))

    def key(self, name: str) -> dg.AssetKey:
        return dg.AssetKey([self.slug, name])

    @property
    def source_keys(self) -> list[dg.AssetKey]:
        return [self.key(source.name) for source in SOURCES]

    def latest_manifest_key(self, instance: dg.DagsterInstance, name: str, shot: str | None) -> str | None:
        """The store key of the manifest of an asset partition's latest materialization (None: never made)."""
        version = latest_version(instance, self.key(name), shot, is_source=False)
        return artifact_key(self.slug, name, shot, version, "json") if version else None


def sync_shot_partitions(instance: dg.DagsterInstance, partitions_name: str, shot_ids: list[str]) -> tuple[list, list]:
    """Add new shots to the film's partitions and retire deleted ones (their artifacts stay)."""
    known = set(instance.get_dynamic_partitions(partitions_name))
    added = [s for s in shot_ids if s not in known]
    removed = sorted(known - set(shot_ids))
    if added:
        instance.add_dynamic_partitions(partitions_name, added)
    for shot_id in removed:
        instance.delete_dynamic_partition(partitions_name, shot_id)
    return added, removed
