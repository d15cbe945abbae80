"""The film graph: one factory builds every asset of one film, under the film's key prefix.

  film_spec ─► script ─────────────────────────────────────────────┐
  visual_spec[shot] ─► storyboard[shot] ─► clip[shot] ─► upscaled_clip[shot] ─► final_cut
  motion_spec[shot] ───────────────────────┘      upscale_spec[shot] ─┘           ▲
  narration_spec[shot] ─► voiceover[shot] ─► soundtrack ◄─ score_spec ────────────┘

The `*_spec` assets are observable sources read from film.yaml: one data version per stage per
shot, so an edit stales exactly the stages it touches. Every real asset pins a code version and
returns a data version hashed from its code version and its inputs' versions; that version is
also the artifact's key in the store, so an existing version is reused rather than regenerated.
"""

import base64
from collections import Counter
import io
import itertools
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import numpy as np
from dagster._core.definitions.data_version import extract_data_version_from_entry
from PIL import Image

from film_pipeline import edit
from film_pipeline.characters import conditions_on_references, reference_image
from film_pipeline.backends import (CharacterLook, KeyframeRequest, MotionRequest, backend_for, is_out_of_memory,
                                    loaded_backends, release_accelerator_memory, with_memory_savers)
from film_pipeline.checks import build_checks
from film_pipeline.conditions import inputs_changed
from film_pipeline.cost import Prices, device_of
from film_pipeline.scoring import best_take, clip_scores, image_scores, with_adherence
from film_pipeline.expansion import expand_film
from film_pipeline.film import Film, film_slug, load_film
from film_pipeline.media import (MASTER_CRF, SAMPLE_RATE, peak_memory_mb, read_audio, read_video, reset_peak_memory, thumbnail,
                                 write_video, write_wav)
from film_pipeline.specs import SHOT_SPECS, character_spec, film_spec, score_spec, version_of
from film_pipeline.store import ArtifactStore, artifact_key, open_store, stored_dict
from film_pipeline.timeline import Placement, layout, total_frames
from film_pipeline.workers import QUEUE_TAG, WorkerSettings, current_worker, executor_def

CODE_VERSIONS = {"script": "1", "characters": "1", "storyboard": "1", "clip": "1", "upscaled_clip": "1",
                 "voiceover": "1", "soundtrack": "1", "final_cut": "2"}
SHOT_ASSETS = ("storyboard", "clip", "upscaled_clip", "voiceover")
FILM_ASSETS = ("script", "characters", "soundtrack", "final_cut")
# Each real asset's parents, by name within the film; the planner walks this too.
PARENTS = {
    "script": ("film_spec",),
    "characters": ("character_spec",),
    "storyboard": ("visual_spec",),
    "clip": ("storyboard", "motion_spec"),
    "upscaled_clip": ("clip", "upscale_spec"),
    "voiceover": ("narration_spec",),
    "soundtrack": ("voiceover", "score_spec"),
    "final_cut": ("upscaled_clip", "soundtrack", "script"),
}
# Assets that run a model share the `gpu` pool (limit 1 in dagster.yaml): one GPU, never two steps on it.
GPU_POOL = "gpu"
# Where steps run: in the run's process, or (FILM_BROKER set) on Celery workers by queue.
WORKERS = WorkerSettings.from_env()
# Artifacts actually generated (not reused) in this process, by asset: what "undo for free" counts.
GENERATIONS: Counter = Counter()
MODEL_ASSETS = ("characters", "storyboard", "clip", "upscaled_clip", "voiceover", "soundtrack")
GROUPS = {"script": "script", "characters": "pictures", "storyboard": "pictures", "clip": "motion", "upscaled_clip": "motion",
          "voiceover": "sound", "soundtrack": "sound", "final_cut": "edit"}


class StoreResource(dg.ConfigurableResource):
    """Where artifacts live: a local directory, or `s3://bucket/prefix` (endpoint and keys come
    from FILM_S3_* in the environment when a step runs, never from config, so they never show)."""

    location: str

    def get(self) -> ArtifactStore:
        return open_store(self.location)


class RenderSettings(dg.ConfigurableResource):
    """Run-wide settings: a profile that overrides each film's own (empty: the film's)."""

    profile: str = ""


class MissingInputError(RuntimeError):
    """An input of this step has never been observed or rendered."""


@dataclass
class FilmGraph:
    """Everything Dagster needs for one film, plus the names the planner and CLI use."""

    slug: str
    film_dir: Path
    partitions: dg.DynamicPartitionsDefinition
    sources: list = field(default_factory=list)
    assets: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    jobs: list = field(default_factory=list)
    automation: list = field(default_factory=list)  # sensors and schedules

    asset_names = SHOT_ASSETS + FILM_ASSETS

    def key(self, name: str) -> dg.AssetKey:
        return dg.AssetKey([self.slug, name])

    def latest_manifest_key(self, instance: dg.DagsterInstance, name: str, shot: str | None) -> str | None:
        """The store key of the manifest of an asset partition's latest materialization (None: never made)."""
        record = instance.get_latest_data_version_record(self.key(name), False, shot)
        if record is None:
            return None
        version = record.event_log_entry.asset_materialization.tags["dagster/data_version"]
        return artifact_key(self.slug, name, shot, version, "json")

    def job(self, name: str):
        return next(job for job in self.jobs if job.name == name)

    @property
    def shot_job_def(self):
        return self.job(self.shot_job)

    @property
    def film_job_def(self):
        return self.job(self.film_job)

    @property
    def shot_job(self) -> str:
        return f"{self.slug}__render_shot"

    @property
    def film_job(self) -> str:
        return f"{self.slug}__render_film"

    @property
    def observe_job(self) -> str:
        return f"{self.slug}__observe_specs"

    @property
    def check_shot_job(self) -> str:
        return f"{self.slug}__check_shot"

    @property
    def check_film_job(self) -> str:
        return f"{self.slug}__check_film"


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


def model_id(ident: dict) -> str:
    """The model a backend runs (a hub id, a package, or the backend itself when it has none)."""
    return str(ident["settings"].get("model") or ident["backend"])


def profile_of(film: Film, settings: RenderSettings) -> str:
    return settings.profile or film.profile


def image_markdown(image: Image.Image, width: int = 320, caption: str = "") -> dg.MetadataValue:
    """An inline picture for the asset's metadata panel in the UI."""
    buffer = io.BytesIO()
    thumbnail(image, width).save(buffer, format="JPEG", quality=82)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return dg.MetadataValue.md(f"![{caption}](data:image/jpeg;base64,{encoded})")


def build_film_graph(film_dir: Path | str) -> FilmGraph:
    film_dir = Path(film_dir).resolve()
    slug = film_slug(film_dir)
    graph = FilmGraph(slug, film_dir, dg.DynamicPartitionsDefinition(name=f"{slug}__shots"))
    ctx = _FilmContext(graph)
    graph.sources = [
        ctx.film_spec_source(),
        ctx.film_level_source("score_spec", score_spec, "Music cues and the film's timing: what the soundtrack depends on."),
        ctx.film_level_source("character_spec", character_spec, "The cast, and the keyframe model that draws them."),
    ] + [ctx.shot_spec_source(name) for name in SHOT_SPECS]
    graph.assets = [ctx.script(), ctx.characters(), ctx.storyboard(), ctx.clip(), ctx.upscaled_clip(), ctx.voiceover(),
                    ctx.soundtrack(), ctx.final_cut()]
    graph.checks = build_checks(graph)
    # In-process: the steps of a run share one process, so a model loads once per run, not once per
    # step (bench/executors.py measures the difference). With FILM_BROKER set, steps go to Celery
    # workers, which keep their models loaded between tasks.
    render_executor = executor_def(WORKERS) if WORKERS.enabled else dg.in_process_executor
    graph.jobs = [
        dg.define_asset_job(graph.shot_job, selection=[graph.key(n) for n in SHOT_ASSETS],
                            partitions_def=graph.partitions, executor_def=render_executor,
                            description=f"Render shots of {slug}: one run per shot."),
        dg.define_asset_job(graph.film_job, selection=[graph.key(n) for n in FILM_ASSETS],
                            executor_def=render_executor,
                            description=f"Script, soundtrack and final cut of {slug}."),
        dg.define_asset_job(graph.observe_job, selection=[s.key for s in graph.sources],
                            executor_def=dg.in_process_executor,
                            description=f"Read {slug}/film.yaml and record each stage's spec version."),
        dg.define_asset_job(graph.check_shot_job, partitions_def=graph.partitions, executor_def=dg.in_process_executor,
                            selection=dg.AssetSelection.checks_for_assets(*[graph.key(n) for n in SHOT_ASSETS]),
                            description=f"Check a shot of {slug} as stored now (frames, black, frozen)."),
        dg.define_asset_job(graph.check_film_job, executor_def=dg.in_process_executor,
                            selection=dg.AssetSelection.checks_for_assets(*[graph.key(n) for n in FILM_ASSETS]),
                            description=f"Check the soundtrack and the cut of {slug} as stored now."),
    ]
    from film_pipeline.automation import automation_sensor, nightly_render, watch_film_yaml

    graph.automation = [watch_film_yaml(graph), nightly_render(graph), automation_sensor(graph)]
    return graph


class _FilmContext:
    """The asset bodies of one film; each method returns one Dagster definition."""

    def __init__(self, graph: FilmGraph):
        self.graph = graph
        self.slug = graph.slug

    # ---- inputs -------------------------------------------------------------------------

    def load(self) -> Film:
        return load_film(self.graph.film_dir)

    def _latest_version(self, context, name: str, shot: str | None, is_source: bool) -> str:
        record = context.instance.get_latest_data_version_record(self.graph.key(name), is_source, shot)
        version = extract_data_version_from_entry(record.event_log_entry) if record else None
        if version is None:
            what = f"{name}[{shot}]" if shot else name
            hint = "run `film render`, or observe the film's specs in the UI" if is_source else f"materialize {what} first"
            raise MissingInputError(f"{self.slug}/{what} has no recorded version; {hint}")
        return version.value

    def spec(self, context, store: ArtifactStore, name: str, shot: str | None) -> tuple[str, dict]:
        """The version of a spec as last observed, and the spec it stands for (saved at observation)."""
        version = self._latest_version(context, name, shot, is_source=True)
        return version, store.read_json(artifact_key(self.slug, name, shot, version, "json"))

    def upstream(self, context, store: ArtifactStore, name: str, shot: str | None) -> tuple[str, dict]:
        """The current version of a rendered input and its manifest."""
        version = self._latest_version(context, name, shot, is_source=False)
        return version, store.read_json(artifact_key(self.slug, name, shot, version, "json"))

    # ---- spec sources ---------------------------------------------------------------------

    def _save_spec(self, store: ArtifactStore, name: str, shot: str | None, spec: dict) -> dg.DataVersion:
        version = version_of(spec)
        key = artifact_key(self.slug, name, shot, version, "json")
        if not store.exists(key):
            store.put_json(key, spec)
        return dg.DataVersion(version)

    def film_spec_source(self):
        @dg.observable_source_asset(
            key=self.graph.key("film_spec"), group_name="specs",
            description="film.yaml as the writer wrote it, normalised (comments and layout do not count).")
        def film_spec_source(store: StoreResource, render_settings: RenderSettings):
            film, artifacts = self.load(), store.get()
            profile = profile_of(film, render_settings)
            spec = {**film_spec(film, profile), "expansions": expand_film(film, profile, artifacts)[1]}
            return self._save_spec(artifacts, "film_spec", None, spec)

        return film_spec_source

    def film_level_source(self, name: str, make_spec, description: str):
        @dg.observable_source_asset(key=self.graph.key(name), group_name="specs", description=description)
        def film_level_source(store: StoreResource, render_settings: RenderSettings):
            film = self.load()
            return self._save_spec(store.get(), name, None, make_spec(film, profile_of(film, render_settings)))

        return film_level_source

    def shot_spec_source(self, name: str):
        make_spec = SHOT_SPECS[name]

        @dg.observable_source_asset(
            key=self.graph.key(name), partitions_def=self.graph.partitions, group_name="specs",
            description=f"Per-shot {name.replace('_', ' ')}: one data version per shot.")
        def shot_spec_source(context, store: StoreResource, render_settings: RenderSettings):
            film, artifacts = self.load(), store.get()
            profile = profile_of(film, render_settings)
            if name == "visual_spec":
                film = expand_film(film, profile, artifacts)[0]
            known = set(context.instance.get_dynamic_partitions(self.graph.partitions.name))
            return dg.DataVersionsByPartition({
                shot.id: self._save_spec(artifacts, name, shot.id, make_spec(film, shot, profile))
                for shot in film.shots if shot.id in known})

        return shot_spec_source

    # ---- materializing ------------------------------------------------------------------

    def render(self, context, store: ArtifactStore, name: str, shot: str | None, inputs: list,
               make: Callable[[Path], tuple[dict[str, Path], dict]]) -> dg.MaterializeResult:
        """Render one artifact version (or reuse it if the store has it) and describe it to Dagster.

        The version hashes the asset's code version with its inputs' versions, as Dagster's own
        logical version does. `make(workdir)` writes files and returns `({role: path}, info)`;
        the files are stored first and the manifest last, so a manifest in the store means a
        complete artifact.
        """
        version = version_of(name, CODE_VERSIONS[name], inputs)
        manifest_key = artifact_key(self.slug, name, shot, version, "json")
        # which worker ran this step, and how many models it held already (kept between tasks)
        where = {"worker": current_worker(), "worker_pid": dg.MetadataValue.int(os.getpid()),
                 "models_already_loaded": dg.MetadataValue.int(loaded_backends())}
        manifest = self.stored_version(store, name, shot, version, manifest_key)
        reused = manifest is not None
        if reused:
            origin = manifest.get("reused_from")
            context.log.info(f"{name}[{shot or '-'}] {version} is already in the store"
                             f"{f' (made for {origin})' if origin else ''}: reused, not re-rendered")
        else:
            GENERATIONS[name] += 1
            started = time.perf_counter()
            reset_peak_memory()
            with tempfile.TemporaryDirectory(prefix=f"{name}-") as workdir:
                files, info = _retry_if_transient(context, name, shot, make, Path(workdir))
                stored = {role: stored_dict(store.put_file(artifact_key(self.slug, name, shot, version, _ext(role, path)), path))
                          for role, path in files.items()}
            info["seconds"] = round(time.perf_counter() - started, 3)
            info["peak_rss_mb"] = peak_memory_mb()
            info.setdefault("device", "cpu")
            info.update({k: v for k, v in self.provenance(context, store, shot).items() if k not in info})
            manifest = {"asset": name, "shot": shot, "version": version, "primary": next(iter(files)),
                        "files": stored, "info": info, "specs": self.spec_versions(context, shot)}
            store.put_json(manifest_key, manifest)
            store.put_json(shared_key(name, version), {"manifest": manifest_key})
            context.log.info(f"{name}[{shot or '-'}] rendered in {info['seconds']:.2f}s")
        return dg.MaterializeResult(data_version=dg.DataVersion(version),
                                    metadata={**self.metadata(store, manifest, reused), **where})

    def stored_version(self, store: ArtifactStore, name: str, shot: str | None, version: str,
                       manifest_key: str) -> dict | None:
        """This version's manifest if the store has it: this film's own, or another film's copied over
        (an identical shot in two films is made once). Every file is verified on the way."""
        if store.exists(manifest_key):
            manifest = store.read_json(manifest_key)
            for stored in manifest["files"].values():
                store.local_path(stored["key"], stored["sha256"])
            return manifest
        if not store.exists(shared_key(name, version)):
            return None
        original = store.read_json(store.read_json(shared_key(name, version))["manifest"])
        files = {role: stored_dict(store.put_file(artifact_key(self.slug, name, shot, version, _ext(role, Path(f["key"]))),
                                                  store.local_path(f["key"], f["sha256"])))
                 for role, f in original["files"].items()}
        manifest = {**original, "shot": shot, "files": files, "reused_from": original["files"][original["primary"]]["key"]}
        store.put_json(manifest_key, manifest)
        return manifest

    def provenance(self, context, store: ArtifactStore, shot: str | None) -> dict:
        """The profile (and, for a shot, the prompt) an artifact was made under, for `film history`."""
        found = {"profile": self.spec(context, store, "film_spec", None)[1]["profile"]}
        if shot:
            found["prompt"] = self.spec(context, store, "visual_spec", shot)[1]["prompt"]
        return found

    def spec_versions(self, context, shot: str | None) -> dict[str, str]:
        """The shot's spec versions when this was made: what `film rollback` restores."""
        return {name: self._latest_version(context, name, shot, is_source=True) for name in SHOT_SPECS} if shot else {}

    @staticmethod
    def metadata(store: ArtifactStore, manifest: dict, reused: bool) -> dict:
        primary = manifest["files"][manifest["primary"]]
        info = manifest["info"]
        meta = {
            "uri": dg.MetadataValue.url(primary["uri"]), "sha256": primary["sha256"],
            "bytes": dg.MetadataValue.int(primary["bytes"]),
            "seconds": dg.MetadataValue.float(float(info["seconds"])), "reused": reused,
            "cost_usd": round(Prices.from_env().of(float(info["seconds"]), info.get("device", "cpu")), 6),
            "path": dg.MetadataValue.path(str(store.local_path(primary["key"]))),
        }
        for key, value in info.items():
            if key in meta:
                continue
            if isinstance(value, dict) and "md" in value:
                meta[key] = dg.MetadataValue.md(value["md"])
            elif isinstance(value, (str, int, float, bool)):
                meta[key] = value
        for role, stored in manifest["files"].items():
            if stored["key"].endswith(".png") and (role in ("take1", "takes_sheet", "poster", "contact_sheet", "frame")
                                                  or role.startswith("ref-")):
                meta[f"preview_{role}"] = image_markdown(Image.open(store.local_path(stored["key"])), caption=role)
            elif role == "preview":  # an animated WebP, small enough to live in the event log
                encoded = base64.b64encode(store.local_path(stored["key"]).read_bytes()).decode()
                meta["preview_motion"] = dg.MetadataValue.md(f"![motion](data:image/webp;base64,{encoded})")
        return meta

    def _asset(self, name: str, description: str, partitioned: bool, kinds: set[str]):
        from film_pipeline.planning import needs_every_shot

        return dg.asset(
            key=self.graph.key(name), deps=[self.graph.key(p) for p in PARENTS[name]],
            partitions_def=self.graph.partitions if partitioned else None,
            code_version=CODE_VERSIONS[name], group_name=GROUPS[name], kinds=kinds, description=description,
            # with Celery workers, each gpu worker runs one task at a time: the queue is the limit
            pool=GPU_POOL if name in MODEL_ASSETS and not WORKERS.enabled else None,
            op_tags={QUEUE_TAG: WORKERS.queue_for(name in MODEL_ASSETS)},
            automation_condition=inputs_changed(reads_every_shot=not partitioned and needs_every_shot(name)),
        )

    @staticmethod
    def backend(context, stage: str, ident: dict):
        """The spec's backend; on a retry, with its memory savers on (same output, less GPU memory)."""
        return backend_for(stage, with_memory_savers(stage, ident) if context.retry_number else ident)

    # ---- the assets ---------------------------------------------------------------------

    def script(self):
        @self._asset("script", "The validated script: shot list, timing and what each shot says.", False, {"yaml"})
        def script(context, store: StoreResource):
            artifacts = store.get()
            spec_version, spec = self.spec(context, artifacts, "film_spec", None)
            shot_ids = [s["id"] for s in spec["shots"]]
            added, removed = sync_shot_partitions(context.instance, self.graph.partitions.name, shot_ids)
            if added or removed:
                context.log.info(f"shots added: {added or 'none'}; retired (artifacts kept): {removed or 'none'}")
            timeline = layout([(s["id"], s["duration"], s["transition"]) for s in spec["shots"]], spec["fps"])

            def make(workdir: Path):
                path = workdir / "script.json"
                path.write_text(json.dumps({"film": spec, "timeline": [p.__dict__ for p in timeline]}, indent=1))
                table = "\n".join(f"| {i + 1} | `{s['id']}` | {s['duration']:g}s | {s['camera']} | {s['transition']} | {s['prompt'][:80]} |"
                                  for i, s in enumerate(spec["shots"]))
                expanded = "\n".join(f"| `{shot}` | {text} |" for shot, text in spec["expansions"].items())
                return {"script": path}, {
                    "expanded_prompts": {"md": "| shot | expanded prompt |\n|---|---|\n" + expanded} if expanded else "none",
                    "title": spec["title"], "shots": len(shot_ids), "profile": spec["profile"],
                    "backend": "film.yaml", "seed": spec["seed"],
                    "duration_seconds": round(total_frames(timeline) / spec["fps"], 3),
                    "shot_list": {"md": "| # | shot | duration | camera | transition | prompt |\n|---|---|---|---|---|---|\n" + table},
                }

            return self.render(context, artifacts, "script", None, [spec_version], make)

        return script

    def characters(self):
        @self._asset("characters", "The cast: one reference image per character, the one its shots are drawn from.",
                     False, {"image"})
        def characters(context, store: StoreResource):
            artifacts = store.get()
            spec_version, spec = self.spec(context, artifacts, "character_spec", None)
            backend = self.backend(context, "keyframe", spec["backend"])

            def make(workdir: Path):
                cast = [(c["name"], reference_image(artifacts, self.slug, backend, spec["backend"], CharacterLook(**c)))
                        for c in spec["characters"]]
                files = {"contact_sheet": workdir / "cast.png"}
                edit.contact_sheet(cast, columns=6, tile_width=160).save(files["contact_sheet"])
                for name, image in cast:
                    files[f"ref-{name}"] = workdir / f"{name}.png"
                    image.save(files[f"ref-{name}"])
                return files, {"backend": backend.name, "model": model_id(spec["backend"]), "device": device_of(backend),
                               "characters": len(cast),
                               "seed": ", ".join(f"{c['name']}={c['seed']}" for c in spec["characters"]) or "none",
                               "conditions_shots": conditions_on_references(backend)}

            return self.render(context, artifacts, "characters", None, [spec_version], make)

        return characters

    def storyboard(self):
        @self._asset("storyboard", "Keyframes painted from each shot's prompt: one image per take.", True, {"image"})
        def storyboard(context, store: StoreResource):
            artifacts, shot = store.get(), context.partition_key
            spec_version, spec = self.spec(context, artifacts, "visual_spec", shot)
            backend = self.backend(context, "keyframe", spec["backend"])
            looks = tuple(CharacterLook(c["name"], c["description"], c["seed"]) for c in spec["characters"])

            def make(workdir: Path):
                references = {look.name: reference_image(artifacts, self.slug, backend, spec["backend"], look)
                              for look in looks} if conditions_on_references(backend) else {}
                files, painted, scores = {}, [], {}
                scorer = self.backend(context, "scorer", spec["scorer"]) if "scorer" in spec else None
                for take in range(1, spec["takes"] + 1):
                    request = KeyframeRequest(spec["prompt"], spec["style"], looks, spec["seed"] + take - 1,
                                              tuple(spec["size"]), tuple(references.values()))
                    image = backend.paint(request)
                    files[f"take{take}"] = workdir / f"take{take}.png"
                    image.save(files[f"take{take}"])
                    scores[take] = image_scores(image)
                    if scorer is not None:
                        scores[take] = with_adherence(scores[take], scorer.adherence(image, spec["prompt"]))
                    painted.append(image)
                    context.log.info(f"storyboard[{shot}] take {take}/{spec['takes']} painted, score {scores[take]['total']:.3f}")
                best = best_take(scores)
                if spec["takes"] > 1:  # the takes side by side with their scores, the best one starred
                    files["takes_sheet"] = workdir / "takes.png"
                    edit.contact_sheet([(_take_label(t, scores[t], t == best), img) for t, img in enumerate(painted, 1)],
                                       columns=4).save(files["takes_sheet"])
                for name, image in references.items():  # what kept each character the same
                    files[f"ref-{name}"] = workdir / f"ref-{name}.png"
                    image.save(files[f"ref-{name}"])
                return files, {"character_references": ", ".join(references) or "none", "backend": backend.name,
                               "model": model_id(spec["backend"]), "device": device_of(backend), "seed": spec["seed"],
                               "takes": spec["takes"], "best_take": best, "scores": {str(t): v for t, v in scores.items()},
                               "take_scores": {"md": _scores_table(scores, best)},
                               "caption": f"{shot} · {spec['prompt']}", "width": spec["size"][0], "height": spec["size"][1]}

            return self.render(context, artifacts, "storyboard", shot, [spec_version], make)

        return storyboard

    def clip(self):
        @self._asset("clip", "The shot in motion: the picked keyframe animated for the shot's duration.", True, {"video"})
        def clip(context, store: StoreResource):
            artifacts, shot = store.get(), context.partition_key
            board_version, board = self.upstream(context, artifacts, "storyboard", shot)
            spec_version, spec = self.spec(context, artifacts, "motion_spec", shot)
            pick = board["info"].get("best_take", 1) if spec["pick"] == "best" else spec["pick"]
            take = board["files"].get(f"take{pick}")
            if take is None:
                raise ValueError(f"shot `{shot}` picks take {pick} but its storyboard has {board['info']['takes']}; "
                                 f"lower `pick` or raise `takes` in film.yaml")
            backend = self.backend(context, "motion", spec["backend"])

            def make(workdir: Path):
                keyframe = Image.open(artifacts.local_path(take["key"], take["sha256"])).convert("RGB")
                takes, scores = {}, {}
                for clip_take in range(1, spec.get("clip_takes", 1) + 1):
                    request = MotionRequest(spec["camera"], spec["motion"], spec["frames"], spec["fps"], tuple(spec["size"]),
                                            board["info"]["caption"], board["info"]["seed"] + clip_take - 1, clip_take)
                    takes[clip_take] = workdir / f"clip{clip_take}.mp4"
                    write_video(takes[clip_take], backend.animate(keyframe, request), spec["fps"], tuple(spec["size"]))
                    scores[clip_take] = clip_scores(read_video(takes[clip_take]))
                    context.log.info(f"clip[{shot}] take {clip_take}: score {scores[clip_take]['total']:.3f}")
                best = best_take(scores)
                chosen = best if spec.get("clip_pick", "best") == "best" else spec["clip_pick"]
                path, still, preview = takes[chosen], workdir / "frame.png", workdir / "preview.webp"
                frames = _keep_frame(read_video(path), spec["frames"] // 2, still)
                count = sum(1 for _ in _collect_preview(frames, spec["frames"], spec["fps"], preview))
                files = {"video": path, "frame": still, "preview": preview,
                         **{f"clip_take{t}": p for t, p in takes.items() if t != chosen}}
                return files, {"backend": backend.name, "model": model_id(spec["backend"]), "device": device_of(backend),
                               "frames": count, "fps": spec["fps"], "expected_frames": spec["frames"],
                               "duration_seconds": round(count / spec["fps"], 3), "camera": spec["camera"],
                               "pick": pick, "keyframe": take["key"], "seed": board["info"]["seed"],
                               "clip_takes": len(takes), "clip_take": chosen, "clip_best": best,
                               "clip_scores": {str(t): v for t, v in scores.items()},
                               "take_scores": {"md": _scores_table(scores, best)}}

            return self.render(context, artifacts, "clip", shot,
                               [board_version, spec_version], make)

        return clip

    def upscaled_clip(self):
        @self._asset("upscaled_clip", "The clip at delivery resolution (resolution × upscale).", True, {"video"})
        def upscaled_clip(context, store: StoreResource):
            artifacts, shot = store.get(), context.partition_key
            clip_version, clip = self.upstream(context, artifacts, "clip", shot)
            spec_version, spec = self.spec(context, artifacts, "upscale_spec", shot)
            backend = self.backend(context, "upscale", spec["backend"])
            source = clip["files"]["video"]
            factor = spec["factor"]

            def make(workdir: Path):
                frames = read_video(artifacts.local_path(source["key"], source["sha256"]))
                first = next(frames)
                size = (first.shape[1] * factor, first.shape[0] * factor)
                path = workdir / "upscaled.mp4"
                upscaled = (backend.upscale(f, factor) for f in itertools.chain([first], frames))
                count = write_video(path, upscaled, clip["info"]["fps"], size, crf=MASTER_CRF)
                return {"video": path}, {"backend": backend.name, "model": model_id(spec["backend"]),
                                         "device": device_of(backend), "factor": factor, "frames": count, "fps": clip["info"]["fps"],
                                         "expected_frames": clip["info"].get("expected_frames", clip["info"]["frames"]),
                                         "width": size[0], "height": size[1], "keyframe": clip["info"]["keyframe"],
                                         "seed": clip["info"]["seed"]}

            return self.render(context, artifacts, "upscaled_clip", shot,
                               [clip_version, spec_version], make)

        return upscaled_clip

    def voiceover(self):
        @self._asset("voiceover", "The shot's narration, spoken.", True, {"audio"})
        def voiceover(context, store: StoreResource):
            artifacts, shot = store.get(), context.partition_key
            spec_version, spec = self.spec(context, artifacts, "narration_spec", shot)

            def make(workdir: Path):
                path = workdir / "voice.wav"
                if not spec["text"].strip():
                    write_wav(path, np.zeros(0, np.float32))
                    return {"audio": path}, {"backend": "none", "duration_seconds": 0.0, "text": "", "seed": spec["seed"]}
                voice = self.backend(context, "speech", spec["backend"])
                speech = voice.speak(spec["text"], spec["voice"], spec["seed"])
                if speech.warning:
                    context.log.warning(f"voiceover[{shot}]: {speech.warning}")
                write_wav(path, speech.samples, speech.rate)
                return {"audio": path}, {"backend": speech.backend, "model": model_id(spec["backend"]), "device": device_of(voice), "voice": spec["voice"] or "narrator",
                                         "duration_seconds": round(len(speech.samples) / speech.rate, 3), "text": spec["text"],
                                         "seed": spec["seed"]}

            return self.render(context, artifacts, "voiceover", shot, [spec_version], make)

        return voiceover

    def soundtrack(self):
        @self._asset("soundtrack", "The score from the music cues with the voice-over mixed in at each shot.", False, {"audio"})
        def soundtrack(context, store: StoreResource):
            artifacts = store.get()
            spec_version, spec = self.spec(context, artifacts, "score_spec", None)
            voices = [(s[0], *self.upstream(context, artifacts, "voiceover", s[0])) for s in spec["timeline"]]

            def make(workdir: Path):
                placements = [Placement(shot, start, frames, 0, 0, 0) for shot, start, frames in spec["timeline"]]
                seconds = total_frames(placements) / spec["fps"]
                cues = edit.cue_spans(spec["cues"], placements, spec["fps"], spec["seed"])
                composer = self.backend(context, "music", spec["backend"])
                music = composer.score(cues, seconds, SAMPLE_RATE)
                spoken = [(p, read_audio(artifacts.local_path(m["files"]["audio"]["key"], m["files"]["audio"]["sha256"]))[:, 0])
                          for p, (_, _, m) in zip(placements, voices)]
                mixed, warnings = edit.mix(music, spoken, spec["fps"], SAMPLE_RATE)
                for warning in warnings:
                    context.log.warning(warning)
                path = workdir / "soundtrack.wav"
                write_wav(path, mixed)
                return {"audio": path}, {"backend": spec["backend"]["backend"], "model": model_id(spec["backend"]), "device": device_of(composer), "duration_seconds": round(seconds, 3),
                                         "cues": len(cues), "peak": round(float(np.abs(mixed).max(initial=0)), 3),
                                         "seed": spec["seed"]}

            versions = {("score_spec", None): spec_version, **{("voiceover", s): v for s, v, _ in voices}}
            return self.render(context, artifacts, "soundtrack", None,
                               film_level_inputs("soundtrack", versions, [s for s, _, _ in voices]), make)

        return soundtrack

    def final_cut(self):
        @self._asset("final_cut", "The film: every shot cut together over the soundtrack, H.264 + AAC MP4.", False, {"video"})
        def final_cut(context, store: StoreResource):
            artifacts = store.get()
            script_version, script = self.upstream(context, artifacts, "script", None)
            sound_version, sound = self.upstream(context, artifacts, "soundtrack", None)
            script_doc = json.loads(artifacts.local_path(script["files"]["script"]["key"]).read_text())
            film = script_doc["film"]
            shots = [(s["id"], *self.upstream(context, artifacts, "upscaled_clip", s["id"])) for s in film["shots"]]

            def make(workdir: Path):
                placements = [Placement(**p) for p in script_doc["timeline"]]  # the script's own timing
                clips = [(p, artifacts.local_path(m["files"]["video"]["key"], m["files"]["video"]["sha256"]))
                         for p, (_, _, m) in zip(placements, shots)]
                size = (shots[0][2]["info"]["width"], shots[0][2]["info"]["height"])
                audio = sound["files"]["audio"]
                out, poster, sheet = workdir / "final_cut.mp4", workdir / "poster.png", workdir / "contact_sheet.png"
                frames = edit.assemble(clips, artifacts.local_path(audio["key"], audio["sha256"]), film["title"],
                                       film.get("logline"), film["fps"], size, out, poster)
                keyframes = [(shot_id, Image.open(artifacts.local_path(m["info"]["keyframe"]))) for shot_id, _, m in shots]
                edit.contact_sheet(keyframes).save(sheet)
                return {"video": out, "poster": poster, "contact_sheet": sheet}, {
                    "frames": frames, "fps": film["fps"], "duration_seconds": round(frames / film["fps"], 3),
                    "expected_frames": total_frames(placements),
                    "width": size[0], "height": size[1], "shots": len(shots), "title": film["title"],
                    "backend": "ffmpeg concat (stream copy) + libx264/aac", "seed": film["seed"]}

            versions = {("script", None): script_version, ("soundtrack", None): sound_version,
                        **{("upscaled_clip", s): v for s, v, _ in shots}}
            return self.render(context, artifacts, "final_cut", None,
                               film_level_inputs("final_cut", versions, [s for s, _, _ in shots]), make)

        return final_cut


def film_level_inputs(name: str, versions: dict[tuple[str, str | None], str], shots: list[str]) -> list:
    """The input versions that a film-level asset's own version hashes, in the order it hashes
    them. The asset bodies and the planner both build them here: past 100 shots Dagster stops
    comparing a film-level asset with its per-shot inputs, and the planner compares instead."""
    per_shot = {"soundtrack": "voiceover", "final_cut": "upscaled_clip"}[name]
    whole = {"soundtrack": ("score_spec",), "final_cut": ("script", "soundtrack")}[name]
    return [*(versions[(parent, None)] for parent in whole), [(shot, versions[(per_shot, shot)]) for shot in shots]]


PREVIEW_WIDTH, PREVIEW_FRAMES = 160, 16


def shared_key(name: str, version: str) -> str:
    """Where any film finds an artifact version another film already made (content-addressed)."""
    return artifact_key("_shared", name, None, version, "json")


def _scores_table(scores: dict[int, dict], best: int) -> str:
    """The takes' scores as a markdown table for the UI, the best one starred."""
    names = [name for name in next(iter(scores.values())) if name != "total"]
    rows = [f"| {'★ ' if take == best else ''}{take} | **{values['total']:.3f}** | "
            + " | ".join(f"{values[name]:.3f}" for name in names) + " |" for take, values in sorted(scores.items())]
    return "\n".join([f"| take | total | {' | '.join(names)} |", "|---" * (len(names) + 2) + "|", *rows])


def _take_label(take: int, scores: dict, best: bool) -> str:
    return f"{'★ ' if best else ''}take {take} · {scores['total']:.2f}"


def _collect_preview(frames, total: int, fps: int, path: Path):
    """Pass frames through, writing an animated WebP of up to 16 of them at 160 px for the UI."""
    step = max(1, -(-total // PREVIEW_FRAMES))
    kept = []
    for position, frame in enumerate(frames):
        if position % step == 0:
            kept.append(thumbnail(Image.fromarray(frame), PREVIEW_WIDTH))
        yield frame
    if kept:
        kept[0].save(path, save_all=True, append_images=kept[1:], duration=round(1000 * step / fps), loop=0,
                     quality=50, method=4)


def _retry_if_transient(context, name: str, shot: str | None, make, workdir: Path):
    """Out of GPU memory: retry once with the memory savers on. An unreachable store: retry twice."""
    from film_pipeline.s3store import StoreUnavailableError

    try:
        return make(workdir)
    except Exception as error:
        what = f"{name}[{shot}]" if shot else name
        if is_out_of_memory(error):
            release_accelerator_memory()
            context.log.warning(f"{what} ran out of accelerator memory; retrying with the memory savers on")
            raise dg.RetryRequested(max_retries=1, seconds_to_wait=1) from error
        if isinstance(error, StoreUnavailableError):
            context.log.warning(f"{what}: {error}; retrying")
            raise dg.RetryRequested(max_retries=2, seconds_to_wait=5) from error
        raise


def _keep_frame(frames, index: int, path: Path):
    """Pass frames through, saving frame `index` as a still for the UI."""
    for position, frame in enumerate(frames):
        if position == index:
            Image.fromarray(frame).save(path)
        yield frame


def _ext(role: str, path: Path) -> str:
    """Files of one artifact share its version; the role keeps them apart (`<v>.take2.png`)."""
    primary = role in ("video", "audio", "take1")
    return path.suffix.lstrip(".") if primary else f"{role}{path.suffix}"
