"""The stage table: the film graph's shape as plain data, and every name derived from it.

One row per stage says what it reads, whether it is made per shot or once per film, its code
version (part of every data version it records: bump it only to re-render on purpose), the UI
group and kinds, and whether it runs a model (the `gpu` pool and queue). The Dagster
definitions, the planner, the checks, the cost report, the history and the store keys all read
this table, so adding a stage is one row here, one module under `stages/`, a body of a few
lines in `defs/assets.py` and its backend (and, for a new spec, a row in SOURCES and its
function in `specs.py`).

This module imports nothing else of the package, so everything can import it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """A spec read from film.yaml: one data version per film, or per shot."""

    name: str
    per_shot: bool
    description: str


@dataclass(frozen=True)
class Stage:
    """A rendered asset. `parents` are sources or stages, in the order the planner names them."""

    name: str
    parents: tuple[str, ...]
    per_shot: bool
    code_version: str
    group: str
    kinds: frozenset[str]
    runs_model: bool
    description: str
    # a film-level stage that reads every shot: its film-level parents in the order its version hashes them
    hashes: tuple[str, ...] = ()


SOURCES = (
    Source("film_spec", False, "film.yaml as the writer wrote it, normalised (comments and layout do not count)."),
    Source("score_spec", False, "Music cues and the film's timing: what the soundtrack depends on."),
    Source("character_spec", False, "The cast, and the keyframe model that draws them."),
    Source("visual_spec", True, "Per-shot visual spec: one data version per shot."),
    Source("motion_spec", True, "Per-shot motion spec: one data version per shot."),
    Source("upscale_spec", True, "Per-shot upscale spec: one data version per shot."),
    Source("narration_spec", True, "Per-shot narration spec: one data version per shot."),
)

STAGES = (
    Stage("script", ("film_spec",), False, "1", "script", frozenset({"yaml"}), False,
          "The validated script: shot list, timing and what each shot says."),
    Stage("characters", ("character_spec",), False, "1", "pictures", frozenset({"image"}), True,
          "The cast: one reference image per character, the one its shots are drawn from."),
    Stage("storyboard", ("visual_spec",), True, "1", "pictures", frozenset({"image"}), True,
          "Keyframes painted from each shot's prompt: one image per take."),
    Stage("clip", ("storyboard", "motion_spec"), True, "1", "motion", frozenset({"video"}), True,
          "The shot in motion: the picked keyframe animated for the shot's duration."),
    # code version 2: encoded as the cut is, BT.709 colours (media.write_master), so the master is BT.709 throughout
    Stage("upscaled_clip", ("clip", "upscale_spec"), True, "2", "motion", frozenset({"video"}), True,
          "The clip at delivery resolution (resolution × upscale)."),
    Stage("voiceover", ("narration_spec",), True, "1", "sound", frozenset({"audio"}), True,
          "The shot's narration, spoken."),
    # code version 2: each voice-over starts on a frame (so a timeline export places it where the mix
    # plays it), and the score is stored beside the mix as its own stem (the exports' score track)
    Stage("soundtrack", ("voiceover", "score_spec"), False, "2", "sound", frozenset({"audio"}), True,
          "The score from the music cues with the voice-over mixed in at each shot.", hashes=("score_spec",)),
    # the film's timing is in score_spec: a music cue edit re-makes the (identical) subtitles too
    Stage("subtitles", ("voiceover", "score_spec"), False, "1", "deliverables", frozenset({"text"}), False,
          "SRT and WebVTT subtitles: one cue per narrated shot, timed to where its voice-over plays.",
          hashes=("score_spec",)),
    # code version 2: the cut stream-copies hard cuts (edit.assemble) since bench/RESULTS.md's first run;
    # 3: the mix is mastered to the film's loudness target (two-pass loudnorm, true-peak limited), the
    # subtitles ride along as a mov_text track, and the H.264 stream carries BT.709 colour tags;
    # 4: mastered from ffmpeg's ebur128 meter with a plain gain instead of loudnorm's 192 kHz passes
    # (a feature's mastering 2.5x faster; a cut whose soundtrack changed, a narration edit, waits on it)
    Stage("final_cut", ("upscaled_clip", "soundtrack", "script", "subtitles"), False, "4", "edit", frozenset({"video"}),
          False, "The film: every shot cut together over the mastered soundtrack, H.264 + AAC MP4 with subtitles.",
          hashes=("script", "soundtrack", "subtitles")),
    # made from the cut's own files (its title overlay): it re-exports whenever the cut re-renders
    Stage("timeline_export", ("upscaled_clip", "script", "soundtrack", "final_cut"), False, "1", "deliverables",
          frozenset({"otio", "xml"}), False,
          "The cut as an editor's timeline: OpenTimelineIO, CMX 3600 EDL, FCP 7 XML and Kdenlive, referencing the "
          "upscaled clips, voice-overs, score and title.", hashes=("script", "soundtrack", "final_cut")),
)

# Assets that run a model share this pool (limit 1 in dagster.yaml) and the gpu worker queue.
GPU_POOL = "gpu"

STAGE = {stage.name: stage for stage in STAGES}
SOURCE = {source.name: source for source in SOURCES}
SHOT_ASSETS = tuple(s.name for s in STAGES if s.per_shot)
FILM_ASSETS = tuple(s.name for s in STAGES if not s.per_shot)
ASSET_NAMES = SHOT_ASSETS + FILM_ASSETS
SHOT_SOURCES = tuple(s.name for s in SOURCES if s.per_shot)
FILM_SOURCES = tuple(s.name for s in SOURCES if not s.per_shot)
CODE_VERSIONS = {s.name: s.code_version for s in STAGES}
PARENTS = {s.name: s.parents for s in STAGES}
MODEL_ASSETS = tuple(s.name for s in STAGES if s.runs_model)


def is_per_shot(name: str) -> bool:
    """Whether an asset or source has one partition per shot."""
    return STAGE[name].per_shot if name in STAGE else SOURCE[name].per_shot


def needs_every_shot(name: str) -> bool:
    """Whether a film-level asset reads per-shot assets (directly or through others)."""
    return any(parent in SHOT_ASSETS or (parent in PARENTS and needs_every_shot(parent)) for parent in PARENTS[name])


def per_shot_parent(name: str) -> str:
    """The one per-shot asset a film-level stage reads shot by shot."""
    (parent,) = [p for p in PARENTS[name] if p in SHOT_ASSETS]
    return parent


def film_level_inputs(name: str, versions, shots: list[str]) -> list:
    """The input versions that a film-level asset's own version hashes, in the order it hashes
    them: its film-level parents, then each shot's version of its per-shot parent. The asset
    bodies and the planner both build them here: past 100 shots Dagster stops comparing a
    film-level asset with its per-shot inputs, and the planner compares instead.

    `versions[(parent, shot or None)]` is a version (a dict, or anything indexable like one)."""
    per_shot = per_shot_parent(name)
    return [*(versions[(parent, None)] for parent in STAGE[name].hashes), [(shot, versions[(per_shot, shot)]) for shot in shots]]


def asset_order(name: str) -> int:
    """Where an asset comes in a plan: shots' stages first, in table order, then the film's."""
    return ASSET_NAMES.index(name)
