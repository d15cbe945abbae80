"""What each stage of each shot depends on, as plain data, and the versions hashed from it.

These specs are the firewall that makes rebuilds exact: a prompt edit changes the shot's visual
spec and nothing else, so only that shot's storyboard (and what follows from it) goes stale.
Each spec names the backend, its version and its settings, so a model change re-renders exactly
the stages it touches.
"""

import copy
from dataclasses import asdict, fields, is_dataclass

from film_pipeline.backends import backend_id
from film_pipeline.film import LATER_FILM_FIELDS, LATER_SHOT_FIELDS, Film, Shot, derived_seed
from film_pipeline.profiles import has_stage
from film_pipeline.timeline import Placement, layout, shot_frames
from film_pipeline.versions import version_of  # noqa: F401 (specs' versions are hashed with it)

KEYFRAME_MARGIN = 1.25  # keyframes are painted larger than the frame, room for camera moves
REFRAMING_MOTION = ("camera-move",)  # motion backends that draw the same shot at any size (MotionRequest.scale)


def keyframe_size(film: Film) -> tuple[int, int]:
    width, height = film.resolution
    return 2 * round(width * KEYFRAME_MARGIN / 2), 2 * round(height * KEYFRAME_MARGIN / 2)


def stage_backend(film: Film, stage: str, profile: str) -> dict:
    """The backend identity of a stage: the profile's, with the film's `models:` override applied."""
    return backend_id(stage, profile, film.models.get(stage))


def visual_spec(film: Film, shot: Shot, profile: str) -> dict:
    spec = {
        "prompt": shot.prompt, "style": film.style, "seed": shot.seed, "takes": shot.takes,
        "characters": [asdict(film.characters[name]) for name in shot.characters],
        "size": list(keyframe_size(film)), "backend": stage_backend(film, "keyframe", profile),
    }
    if shot.takes > 1 and has_stage(profile, "scorer", film.models.get("scorer")):  # it decides the best take
        spec["scorer"] = stage_backend(film, "scorer", profile)
    if shot.end_prompt:  # only then, so shots without one keep their versions
        spec["end_prompt"] = shot.end_prompt
    return spec


def motion_spec(film: Film, shot: Shot, profile: str) -> dict:
    spec = {
        "camera": shot.camera, "motion": shot.motion, "fps": film.fps,
        "frames": shot_frames(shot.duration, film.fps), "pick": shot.pick or ("best" if shot.takes > 1 else 1),
        "size": list(film.resolution), "backend": stage_backend(film, "motion", profile),
    }
    if shot.clip_takes > 1:  # only then, so single-take shots keep their versions
        spec.update(clip_takes=shot.clip_takes, clip_pick=shot.clip_pick or "best")
    if shot.continues:  # the shot it starts on: reordering the shots changes it
        spec["continues"] = film.continued_from(shot.id)
    return spec


def upscale_spec(film: Film, shot: Shot, profile: str) -> dict:
    spec = {"factor": film.upscale, "backend": stage_backend(film, "upscale", profile)}
    motion = stage_backend(film, "motion", profile)
    if film.upscale > 1 and motion["backend"] in REFRAMING_MOTION:
        # a camera move over a still keyframe: the keyframe is upscaled once and the move drawn again at the
        # delivery size, instead of every frame upscaled (the preview's demo: 504 frames -> 7 pictures)
        spec["reframe"] = motion
    return spec


def narration_spec(film: Film, shot: Shot, profile: str) -> dict:
    text = shot.narration or ""
    return {"text": text, "voice": shot.voice, "seed": derived_seed(film.seed, "voice", text),
            "backend": stage_backend(film, "speech", profile)}


def score_spec(film: Film, profile: str) -> dict:
    """Music cues and the film's timing: the soundtrack re-renders when either moves."""
    return {
        "fps": film.fps, "seed": film.seed,
        "timeline": [[p.shot_id, p.start, p.frames] for p in film_timeline(film)],
        "cues": [asdict(cue) for cue in film.music],
        "backend": stage_backend(film, "music", profile),
    }


def character_spec(film: Film, profile: str) -> dict:
    """The cast and the keyframe backend that draws their references."""
    return {"characters": [asdict(c) for c in film.characters.values()],
            "backend": stage_backend(film, "keyframe", profile)}


def film_timeline(film: Film) -> list[Placement]:
    return layout([(s.id, s.duration, s.transition) for s in film.shots], film.fps)


def as_plain_dict(value):
    """`dataclasses.asdict`, case for case, but a plain scalar is returned as it is rather than
    through `copy.deepcopy` (which returns it as it is, slowly): asdict took 0.8 s of a
    10,000-shot film's spec."""
    if value is None or type(value) in (str, int, float, bool):
        return value
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_plain_dict(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
        return type(value)(*[as_plain_dict(item) for item in value])
    if isinstance(value, (list, tuple)):
        return type(value)(as_plain_dict(item) for item in value)
    if isinstance(value, dict):
        return type(value)((as_plain_dict(k), as_plain_dict(v)) for k, v in value.items())
    return copy.deepcopy(value)


def film_spec(film: Film, profile: str) -> dict:
    """Everything the writer said, normalised: comments and layout of film.yaml do not count."""
    data = as_plain_dict(film)
    data.pop("path")
    data.pop("schedule")  # when the night render runs changes no picture
    for key, default in LATER_FILM_FIELDS.items():  # the deliverables' keys, only where the writer set them
        if data[key] == default:
            data.pop(key)
    for shot in data["shots"]:  # which take a shot uses is the clip's business, not the script's
        for key in ("pick", "clip_pick"):
            shot.pop(key)
        for key, default in LATER_SHOT_FIELDS.items():
            if shot[key] == default:
                shot.pop(key)
    data["profile"] = profile
    return data


SHOT_SPECS = {"visual_spec": visual_spec, "motion_spec": motion_spec,
              "upscale_spec": upscale_spec, "narration_spec": narration_spec}
