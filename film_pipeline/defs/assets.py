"""The stages as Dagster assets: one row of the stage table and one thin body each.

A body finds its inputs (the specs as observed, the upstream manifests as recorded), hands them
to its stage as local files, and lets the materializer reuse or render the version they make.
"""

from pathlib import Path

import dagster as dg

from film_pipeline.checks import read_ahead
from film_pipeline.defs.conditions import inputs_changed
from film_pipeline.defs.film_graph import FilmGraph, sync_shot_partitions
from film_pipeline.defs.resources import StoreResource
from film_pipeline.defs.step import Step
from film_pipeline.home import film_home
from film_pipeline.graph import GPU_POOL, STAGES, Stage, film_level_inputs, needs_every_shot
from film_pipeline.materialize import is_forced
from film_pipeline.settings import Settings
from film_pipeline.store import artifact_key, sha256_file
from film_pipeline.versions import artifact_version
from film_pipeline.exports import Cut, Media
from film_pipeline.stages import (characters, clip, final_cut, script, soundtrack, storyboard, subtitles, timeline_export,
                                  upscaled_clip, voiceover)
from film_pipeline.workers import QUEUE_TAG


def script_body(step: Step):
    version, spec = step.spec("film_spec", None)
    added, removed = sync_shot_partitions(step.context.instance, step.graph.partitions.name, [s["id"] for s in spec["shots"]])
    if added or removed:
        step.log.info(f"shots added: {added or 'none'}; retired (artifacts kept): {removed or 'none'}")
    return step.materialize("script", [version], lambda workdir: script.render(spec, workdir))


def characters_body(step: Step):
    version, spec = step.spec("character_spec", None)
    step.load("keyframe", spec["backend"])
    return step.materialize("characters", [version], lambda workdir: characters.render(
        spec, step.backends, step.store, step.graph.slug, workdir))


def storyboard_body(step: Step):
    shot = step.shot
    version, spec = step.spec("visual_spec", shot)
    step.load("keyframe", spec["backend"])
    reuse = not is_forced(step.context, "storyboard", shot)  # a forced storyboard paints every take again
    return step.materialize("storyboard", [version], lambda workdir: storyboard.render(
        spec, shot, step.backends, step.store, step.graph.slug, workdir, step.log, reuse=reuse), shot)


def clip_body(step: Step):
    shot = step.shot
    board_version, board = step.upstream("storyboard", shot)
    version, spec = step.spec("motion_spec", shot)
    pick = clip.picked_take(spec, board, shot)
    take, end = board["files"][f"take{pick}"], board["files"].get("end")
    inputs, previous = [board_version, version], None
    if spec.get("continues"):  # the previous shot's clip is an input too: its last frame is this one's first
        previous_version, previous = step.upstream("clip", spec["continues"])
        inputs.append(previous_version)
    step.load("motion", spec["backend"])
    return step.materialize("clip", inputs, lambda workdir: clip.render(
        spec, board["info"], pick, step.local(take), take["key"], shot, step.backends, workdir, step.log,
        end_keyframe=step.local(end) if end else None,
        previous_clip=step.local(previous["files"]["video"]) if previous else None), shot)


def upscaled_clip_body(step: Step):
    shot = step.shot
    clip_version, made = step.upstream("clip", shot)
    version, spec = step.spec("upscale_spec", shot)
    step.load("upscale", spec["backend"])
    if spec.get("reframe"):  # a camera move: drawn again at the delivery size over the upscaled keyframe
        motion, pictures = camera_move_of(step, made, shot)
        return step.materialize("upscaled_clip", [clip_version, version], lambda workdir: upscaled_clip.reframe(
            spec, made["info"], motion, pictures, step.backends, workdir), shot)
    return step.materialize("upscaled_clip", [clip_version, version], lambda workdir: upscaled_clip.render(
        spec, made["info"], step.local(made["files"]["video"]), step.backends, workdir), shot)


def camera_move_of(step: Step, made: dict, shot: str) -> tuple[dict, upscaled_clip.Pictures]:
    """The motion spec a clip was made from, and its pictures: the keyframe it used, the storyboard's
    end keyframe and caption, and the clip it continues from."""
    try:
        motion = step.store.read_json(artifact_key(step.graph.slug, "motion_spec", shot, made["specs"]["motion_spec"], "json"))
    except (FileNotFoundError, KeyError):  # a clip another film made: the same spec, recorded here as now
        motion = step.spec("motion_spec", shot)[1]
    keyframe_key = made["info"]["keyframe"]  # <film>/storyboard/<shot>/<version>.<take>.png, of whichever film made it
    folder, name = keyframe_key.rsplit("/", 1)
    board = step.store.read_json(f"{folder}/{name.split('.')[0]}.json")
    end, previous = board["files"].get("end"), None
    if motion.get("continues"):
        previous = step.local(step.upstream("clip", motion["continues"])[1]["files"]["video"])
    return motion, upscaled_clip.Pictures(step.store.local_path(keyframe_key), board["info"]["caption"],
                                          step.local(end) if end else None, previous)


def voiceover_body(step: Step):
    shot = step.shot
    version, spec = step.spec("narration_spec", shot)
    return step.materialize("voiceover", [version], lambda workdir: voiceover.render(
        spec, shot, step.backends, workdir, step.log), shot)


def soundtrack_body(step: Step):
    version, spec = step.spec("score_spec", None)
    shots = [shot for shot, _, _ in spec["timeline"]]
    voices = step.upstream_shots("voiceover", shots)
    versions = {("score_spec", None): version, **{("voiceover", s): v for s, (v, _) in voices.items()}}
    return step.materialize("soundtrack", film_level_inputs("soundtrack", versions, shots), lambda workdir: soundtrack.render(
        spec, [step.local(m["files"]["audio"]) for _, m in voices.values()], step.backends, workdir, step.log,
        cache=film_home() / "cache" / "scores"))


def subtitles_body(step: Step):
    version, spec = step.spec("score_spec", None)
    shots = [shot for shot, _, _ in spec["timeline"]]
    voices = step.upstream_shots("voiceover", shots)
    versions = {("score_spec", None): version, **{("voiceover", s): v for s, (v, _) in voices.items()}}
    return step.materialize("subtitles", film_level_inputs("subtitles", versions, shots), lambda workdir: subtitles.render(
        spec, [(m["info"].get("text", ""), step.local(m["files"]["audio"])) for _, m in voices.values()], workdir))


def final_cut_body(step: Step):
    script_version, made = step.upstream("script", None)
    sound_version, sound = step.upstream("soundtrack", None)
    subtitles_version, subs = step.upstream("subtitles", None)
    doc = script.read(step.store.local_path(made["files"]["script"]["key"]))
    shots = [s["id"] for s in doc["film"]["shots"]]
    clips = step.upstream_shots("upscaled_clip", shots)
    versions = {("script", None): script_version, ("soundtrack", None): sound_version,
                ("subtitles", None): subtitles_version, **{("upscaled_clip", s): v for s, (v, _) in clips.items()}}
    inputs = film_level_inputs("final_cut", versions, shots)
    manifests = [m for _, m in clips.values()]
    size = (manifests[0]["info"]["width"], manifests[0]["info"]["height"])

    def export_beside_the_mux(title: Path) -> None:
        """Once the title overlay is written: the timeline export this run renders next, in a thread
        (timeline_export.render_ahead), with the title as the store will hold it. Only a head start:
        whatever goes wrong here, the cut goes on and the export's step renders the export itself."""
        selected = step.context.run.asset_selection
        if selected is not None and step.graph.key("timeline_export") not in selected:
            return
        try:
            key = step.cache.key_of("final_cut", None, artifact_version("final_cut", inputs), "title", title)
            stored_title = Media(step.store.local_path_of(key), key, sha256_file(title))
            voices = step.upstream_shots("voiceover", shots)  # here: the thread asks no database
            timeline_export.render_ahead(lambda: cut_for_export(step, doc, clips, voices, sound, stored_title, size))
        except Exception as error:  # noqa: BLE001
            step.log.info(f"the timeline export waits for its own step ({type(error).__name__}: {error})")

    def make(workdir):
        keyframes = [(shot, step.store.local_path(m["info"]["keyframe"])) for shot, (_, m) in clips.items()]
        return final_cut.render(doc, [step.local(m["files"]["video"]) for m in manifests], size,
                                step.local(sound["files"]["audio"]), keyframes, workdir,
                                subtitles={role: step.local(subs["files"][role]) for role in ("subtitles", "captions")},
                                title_overlay=True, segment_cache=film_home() / "cache" / "cut-segments",
                                soundtrack_sha256=sound["files"]["audio"]["sha256"],
                                clip_sha256=[m["files"]["video"]["sha256"] for m in manifests],
                                beside_the_mux=export_beside_the_mux)

    made = step.materialize("final_cut", inputs, make)
    read_ahead(Path(made.metadata["path"].value))  # the cut's checks read it beside the timeline export
    return made


def timeline_export_body(step: Step):
    script_version, made = step.upstream("script", None)
    sound_version, sound = step.upstream("soundtrack", None)
    cut_version, cut = step.upstream("final_cut", None)
    doc = script.read(step.store.local_path(made["files"]["script"]["key"]))
    shots = [s["id"] for s in doc["film"]["shots"]]
    clips = step.upstream_shots("upscaled_clip", shots)
    versions = {("script", None): script_version, ("soundtrack", None): sound_version, ("final_cut", None): cut_version,
                **{("upscaled_clip", s): v for s, (v, _) in clips.items()}}

    def make(workdir):
        title = cut["files"].get("title")
        exported = cut_for_export(step, doc, clips, step.upstream_shots("voiceover", shots), sound,
                                  step_media(step, title) if title else None, (cut["info"]["width"], cut["info"]["height"]))
        return timeline_export.render(exported, workdir)

    return step.materialize("timeline_export", film_level_inputs("timeline_export", versions, shots), make)


def cut_for_export(step: Step, doc: dict, clips: dict, voices: dict, sound: dict, title: Media | None,
                   size: tuple[int, int]) -> Cut:
    """The timeline export's view of the cut: `clips` and `voices` each shot's (version, manifest)
    of its upscaled clip and voice-over (as the soundtrack mixed them), `sound` the soundtrack's."""
    return timeline_export.cut_of(
        doc, [(step_media(step, m["files"]["video"]), v) for v, m in clips.values()],
        [step_media(step, m["files"]["audio"]) if m["info"].get("text") else None for _, m in voices.values()],
        step_media(step, sound["files"]["score"]), title, size)


def step_media(step: Step, stored: dict) -> Media:
    return Media(step.local(stored), stored["key"], stored["sha256"])


BODIES = {"script": script_body, "characters": characters_body, "storyboard": storyboard_body, "clip": clip_body,
          "upscaled_clip": upscaled_clip_body, "voiceover": voiceover_body, "soundtrack": soundtrack_body,
          "subtitles": subtitles_body, "final_cut": final_cut_body, "timeline_export": timeline_export_body}


def asset_definitions(graph: FilmGraph, settings: Settings) -> list[dg.AssetsDefinition]:
    return [stage_asset(graph, settings, stage) for stage in STAGES]


def stage_asset(graph: FilmGraph, settings: Settings, stage: Stage) -> dg.AssetsDefinition:
    body = BODIES[stage.name]
    workers = settings.workers

    @dg.asset(
        key=graph.key(stage.name), deps=[graph.key(p) for p in stage.parents],
        partitions_def=graph.partitions if stage.per_shot else None,
        code_version=stage.code_version, group_name=stage.group, kinds=set(stage.kinds), description=stage.description,
        # with Celery workers, each gpu worker runs one task at a time: the queue is the limit
        pool=GPU_POOL if stage.runs_model and not workers.enabled else None,
        op_tags={QUEUE_TAG: workers.queue_for(stage.runs_model)},
        automation_condition=inputs_changed(reads_every_shot=not stage.per_shot and needs_every_shot(stage.name)),
    )
    def film_asset(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
        return body(Step(context, graph, store.get()))

    return film_asset
