"""soundtrack: the score from the music cues, with each shot's voice-over mixed in where it plays.

Beside the mix it keeps the score stem (the score as it plays in the mix: ducked under the
voices, at the mix's gain), the track a timeline export lays under the voice-overs.

With a `cache`, the composed score is kept there by what it depends on, so an edit of a shot's
narration mixes the voices again over the same music instead of composing a feature's score again
(16 s for 448 s of the procedural score on 2 cores; minutes to hours for a music model)."""

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from film_pipeline import edit
from film_pipeline.backends import CueRequest
from film_pipeline.home import keep_in_cache
from film_pipeline.media import SAMPLE_RATE, WavWriter, read_audio
from film_pipeline.stages import Backends, Log, Rendered, device_of, model_id
from film_pipeline.timeline import Placement, total_frames


# Bump when what a kept score depends on, or how it is kept, changes: kept scores are then composed again.
SCORE_CACHE_VERSION = "1"
SCORES_KEPT = 4  # the scores last used; a feature's is most of a gigabyte (float32, as the mix reads it)


def render(spec: dict, voices: list[Path], backends: Backends, workdir: Path, log: Log,
           cache: Path | None = None) -> Rendered:
    """`voices` are the shots' voice-over files, in the order of the spec's timeline; `cache` keeps
    the composed score between mixes."""
    placements = [Placement(shot, start, frames, 0, 0, 0) for shot, start, frames in spec["timeline"]]
    seconds = total_frames(placements) / spec["fps"]
    cues = edit.cue_spans(spec["cues"], placements, spec["fps"], spec["seed"])
    music, composer = _score(spec["backend"], cues, seconds, backends, workdir, cache)
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
                             "device": device_of(composer) if composer else "cpu",
                             "score": "composed" if composer else "kept from an earlier mix",
                             "duration_seconds": round(seconds, 3),
                             "cues": len(cues), "voices": sum(1 for _, samples in spoken if samples.size),
                             "peak": round(peak, 3),
                             "seed": spec["seed"]}


def _score(backend: dict, cues: list[CueRequest], seconds: float, backends: Backends, workdir: Path,
           cache: Path | None) -> tuple[np.ndarray, object | None]:
    """(the score, the composer that composed it, None where the kept one was found). The key is
    what the composer is given: its backend as the spec names it (name, settings, version), every
    cue (id, prompt, span, seed), the length and the rate; the music model is not even loaded."""
    kept = None
    if cache is not None:
        identity = json.dumps([SCORE_CACHE_VERSION, backend, [asdict(cue) for cue in cues], seconds, SAMPLE_RATE],
                              sort_keys=True)
        kept = cache / f"score-{hashlib.sha256(identity.encode()).hexdigest()[:32]}.npy"
        try:
            music = np.load(kept)
            os.utime(kept)  # used now: the last to go
            return music, None
        except (OSError, ValueError, EOFError):  # not kept yet, or cut short: composed again
            pass
    composer = backends("music", backend)
    music = composer.score(cues, seconds, SAMPLE_RATE)
    if kept is not None:
        np.save(workdir / "score.npy", music)
        if keep_in_cache(workdir / "score.npy", kept):
            _keep_last_used(cache)
    return music, composer


def _keep_last_used(cache: Path) -> None:
    """The SCORES_KEPT scores used last stay; older ones go (each timing edit composes a new one)."""
    def used(path: Path) -> int:
        try:
            return path.stat().st_mtime_ns
        except OSError:  # another render took it away
            return 0

    for old in sorted(cache.glob("score-*.npy"), key=used, reverse=True)[SCORES_KEPT:]:
        old.unlink(missing_ok=True)
