"""One asset step's view of its film: the inputs as recorded in the instance, its backends, and
the materializer. The asset bodies in `assets.py` are a few lines each because of this."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from film_pipeline.backends import backend_for, with_memory_savers
from film_pipeline.dagster_internals import latest_versions_by_partition
from film_pipeline.defs.film_graph import FilmGraph
from film_pipeline.graph import SHOT_SOURCES
from film_pipeline.materialize import ArtifactCache, materialize
from film_pipeline.records import latest_version
from film_pipeline.stages import Rendered
from film_pipeline.store import ArtifactStore, artifact_key
from film_pipeline.store.verified import identity_of, verified_files


@dataclass
class RunReads:
    """What the steps of one run have read of their inputs: manifests by key, and the stored files
    whose sha256 was checked, by key, sha256 and the file's identity. A film's cut and its timeline
    export read the same manifests and clips (2,000 of each in a feature); the second reads them
    from here. A file replaced since (a forced re-render writes a new file) is checked again."""

    run_id: str
    manifests: dict[str, dict] = field(default_factory=dict)
    checked: set[tuple] = field(default_factory=set)


_reads = RunReads("")  # the run this process's steps belong to now


def run_reads(run_id: str) -> RunReads:
    """What this run has read so far (a new run starts with nothing read)."""
    global _reads
    if _reads.run_id != run_id:
        _reads = RunReads(run_id)
    return _reads


class MissingInputError(RuntimeError):
    """An input of this step has never been observed or rendered."""


class Step:
    def __init__(self, context, graph: FilmGraph, store: ArtifactStore):
        self.context, self.graph, self.store = context, graph, store
        self.cache = ArtifactCache(store, graph.slug)
        self.log = context.log

    @property
    def shot(self) -> str | None:
        # a film-level asset in a shot's run (the edit job) has the run's partition key, not one of its own
        partitioned = self.context.has_partition_key and self.context.assets_def.partitions_def is not None
        return self.context.partition_key if partitioned else None

    def version(self, name: str, shot: str | None, is_source: bool) -> str:
        """The latest recorded version of an input; a clear error if it was never made."""
        version = latest_version(self.context.instance, self.graph.key(name), shot, is_source)
        if version is None:
            what = f"{name}[{shot}]" if shot else name
            hint = "run `film render`, or observe the film's specs in the UI" if is_source else f"materialize {what} first"
            raise MissingInputError(f"{self.graph.slug}/{what} has no recorded version; {hint}")
        return version

    def spec(self, name: str, shot: str | None) -> tuple[str, dict]:
        """The version of a spec as last observed, and the spec it stands for (saved at observation)."""
        version = self.version(name, shot, is_source=True)
        return version, self.store.read_json(artifact_key(self.graph.slug, name, shot, version, "json"))

    def upstream(self, name: str, shot: str | None) -> tuple[str, dict]:
        """The current version of a rendered input and its manifest."""
        version = self.version(name, shot, is_source=False)
        return version, self.store.read_json(artifact_key(self.graph.slug, name, shot, version, "json"))

    def upstream_shots(self, name: str, shots: list[str]) -> dict[str, tuple[str, dict]]:
        """`upstream` of a per-shot input for every shot: the versions in one query, the manifests
        read side by side where the store gains from it (S3's GETs; a feature's cut asked 2,000
        queries and read 2,000 manifests in turn), one after another where it does not (local
        files: 2,000 took 0.07 s so, and 0.28 s in 16 threads)."""
        recorded = latest_versions_by_partition(self.context.instance, self.graph.key(name))
        never = [shot for shot in shots if shot not in recorded]
        if never:
            more = len(never) - 1
            others = f" (nor {'does 1 more shot' if more == 1 else f'do {more} more shots'})" if more else ""
            raise MissingInputError(f"{self.graph.slug}/{name}[{never[0]}] has no recorded version{others}; "
                                    f"materialize {name}[{never[0]}] first")
        keys = [artifact_key(self.graph.slug, name, shot, recorded[shot], "json") for shot in shots]
        read = run_reads(self.context.run_id).manifests
        unread = [key for key in dict.fromkeys(keys) if key not in read]
        threads = self.store.reading_threads
        if threads > 1 and len(unread) > 1:
            with ThreadPoolExecutor(threads) as pool:
                read.update(zip(unread, pool.map(self.store.read_json, unread)))
        else:
            read.update((key, self.store.read_json(key)) for key in unread)
        return {shot: (recorded[shot], read[key]) for shot, key in zip(shots, keys)}

    def local(self, stored: dict) -> Path:
        """A stored file of an input's manifest, as a local file whose sha256 was checked: once a
        run, and not again while the file stays as it was when checked (`store.verified`)."""
        checked = run_reads(self.context.run_id).checked
        path = self.store.local_path(stored["key"])
        identity = identity_of(stored["key"], stored["sha256"], path)
        if identity not in checked:
            verified = verified_files()
            if identity not in verified:
                self.store.local_path(stored["key"], stored["sha256"])  # hashes it: a corrupt file raises
                verified.remember(identity)
            checked.add(identity)
        return path

    def backends(self, stage: str, ident: dict):
        """The spec's backend; on a retry, with its memory savers on (same output, less GPU memory)."""
        return backend_for(stage, with_memory_savers(stage, ident) if self.context.retry_number else ident)

    def load(self, stage: str, ident: dict) -> None:
        """Load a stage's model before the cache is asked, as the image and video stages always have:
        its load time and memory are not the artifact's (`seconds`, `peak_rss_mb`), and a model
        that cannot load fails the step. The stage then gets the same loaded backend."""
        self.backends(stage, ident)

    def materialize(self, name: str, inputs: list, make: Callable[[Path], Rendered], shot: str | None = None):
        return materialize(self.context, self.cache, name, shot, inputs, make, self)

    # ---- provenance, looked up only when an artifact is really made -------------------------

    def provenance(self, shot: str | None) -> dict:
        """The profile (and, for a shot, the prompt) an artifact was made under, for `film history`."""
        found = {"profile": self.spec("film_spec", None)[1]["profile"]}
        if shot:
            found["prompt"] = self.spec("visual_spec", shot)[1]["prompt"]
        return found

    def spec_versions(self, shot: str | None) -> dict[str, str]:
        """The shot's spec versions when this was made: what `film rollback` restores."""
        return {name: self.version(name, shot, is_source=True) for name in SHOT_SOURCES} if shot else {}
