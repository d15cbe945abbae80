"""soundtrack: the score from the music cues, with each shot's voice-over mixed in where it plays.

Beside the mix it keeps the score stem (the score as it plays in the mix: ducked under the
voices, at the mix's gain), the track a timeline export lays under the voice-overs."""

from pathlib import Path

import numpy as np

from film_pipeline import edit
from film_pipeline.media import SAMPLE_RATE, WavWriter, read_audio
from film_pipeline.stages import Backends, Log, Rendered, device_of, model_id
from film_pipeline.timeline import Placement, total_frames


def render(spec: dict, voices: list[Path], backends: Backends, workdir: Path, log: Log) -> Rendered:
    """`voices` are the shots' voice-over files, in the order of the spec's timeline."""
    placements = [Placement(shot, start, frames, 0, 0, 0) for shot, start, frames in spec["timeline"]]
    seconds = total_frames(placements) / spec["fps"]
    cues = edit.cue_spans(spec["cues"], placements, spec["fps"], spec["seed"])
    composer = backends("music", spec["backend"])
    music = composer.score(cues, seconds, SAMPLE_RATE)
    spoken = [(placement, read_audio(voice)[:, 0]) for placement, voice in zip(placements, voices)]
    mixing = edit.Mix(music, spoken, spec["fps"], SAMPLE_RATE)
    for warning in mixing.warnings:
        log.warning(warning)
    path, stem = workdir / "soundtrack.wav", workdir / "score.wav"
    peak = 0.0
    with WavWriter(path, music.shape[1]) as mixed, WavWriter(stem, music.shape[1]) as score:
        for mixed_span, score_span in mixing.spans():  # a feature's mix is never held whole
            mixed.write(mixed_span)
            score.write(score_span)
            peak = max(peak, float(np.abs(mixed_span).max(initial=0)))
    return {"audio": path, "score": stem}, {"backend": spec["backend"]["backend"], "model": model_id(spec["backend"]),
                             "device": device_of(composer), "duration_seconds": round(seconds, 3),
                             "cues": len(cues), "voices": sum(1 for _, samples in spoken if samples.size),
                             "peak": round(peak, 3),
                             "seed": spec["seed"]}
