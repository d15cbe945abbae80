"""The orchestration baseline: the same backends on the same film, in a plain Python loop.

No Dagster, no store, no versions, no previews or checks: paint, animate, upscale, speak, score,
mix and cut, each file written once to a work directory. `film render` doing the same film is
measured against this (bench/results.py, "orchestration overhead").
"""

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from film_pipeline import edit
from film_pipeline.backends import KeyframeRequest, MotionRequest, backend_for
from film_pipeline.film import Film, load_film
from film_pipeline.media import SAMPLE_RATE, read_audio, read_video, write_master, write_video, write_wav
from film_pipeline.specs import film_timeline, motion_spec, narration_spec, score_spec, upscale_spec, visual_spec
from film_pipeline.timeline import Placement, total_frames


def render_without_dagster(film_dir: Path, out: Path) -> Path:
    """Renders every shot and the cut of the film into `out`; returns the cut's path."""
    film = load_film(film_dir)
    assert not film.characters, "the baseline draws no character references"
    out.mkdir(parents=True, exist_ok=True)
    clips, voices = [], []
    for shot in film.shots:
        clips.append(_picture(film, shot, out))
        voices.append(_voice(film, shot, out))
    spec = score_spec(film, film.profile)
    placements = [Placement(shot, start, frames, 0, 0, 0) for shot, start, frames in spec["timeline"]]
    seconds = total_frames(placements) / film.fps
    music = backend_for("music", spec["backend"]).score(edit.cue_spans(spec["cues"], placements, film.fps, film.seed),
                                                         seconds, SAMPLE_RATE)
    mixed, _ = edit.mix(music, [(p, read_audio(v)[:, 0]) for p, v in zip(placements, voices) if v], film.fps, SAMPLE_RATE)
    write_wav(out / "soundtrack.wav", mixed)
    timeline = film_timeline(film)
    size = (film.resolution[0] * film.upscale, film.resolution[1] * film.upscale)
    edit.assemble(list(zip(timeline, clips)), out / "soundtrack.wav", film.title, film.logline, film.fps, size,
                  out / "final_cut.mp4", out / "poster.png")
    return out / "final_cut.mp4"


def _picture(film: Film, shot, out: Path) -> Path:
    visual, motion, upscale = (make(film, shot, film.profile) for make in (visual_spec, motion_spec, upscale_spec))
    painter = backend_for("keyframe", visual["backend"])
    keyframes = [painter.paint(KeyframeRequest(visual["prompt"], visual["style"], (), visual["seed"] + take - 1,
                                               tuple(visual["size"]), ())) for take in range(1, visual["takes"] + 1)]
    keyframe = keyframes[0 if motion["pick"] == "best" else motion["pick"] - 1].convert("RGB")
    keyframe.save(out / f"{shot.id}.png")
    request = MotionRequest(motion["camera"], motion["motion"], motion["frames"], motion["fps"], tuple(motion["size"]),
                            f"{shot.id} · {visual['prompt']}", visual["seed"], 1)
    clip = out / f"{shot.id}.clip.mp4"
    write_video(clip, backend_for("motion", motion["backend"]).animate(Image.open(out / f"{shot.id}.png"), request),
                motion["fps"], tuple(motion["size"]))
    upscaler, factor = backend_for("upscale", upscale["backend"]), upscale["factor"]
    path = out / f"{shot.id}.upscaled.mp4"
    size = (motion["size"][0] * factor, motion["size"][1] * factor)
    if upscale.get("reframe"):  # as upscaled_clip does for camera moves: the keyframe upscaled, the move drawn again
        big = Image.fromarray(upscaler.upscale(np.asarray(keyframe), factor))
        moved = backend_for("motion", upscale["reframe"]).animate(big, replace(request, scale=factor))
        write_master(path, moved, motion["fps"], size)
        return path
    frames = read_video(clip)
    first = next(frames)
    write_master(path, (upscaler.upscale(f, factor) for f in itertools.chain([first], frames)), motion["fps"], size)
    return path


def _voice(film: Film, shot, out: Path) -> Path | None:
    spec = narration_spec(film, shot, film.profile)
    if not spec["text"].strip():
        return None
    speech = backend_for("speech", spec["backend"]).speak(spec["text"], spec["voice"], spec["seed"])
    path = out / f"{shot.id}.voice.wav"
    write_wav(path, speech.samples, speech.rate)
    return path
