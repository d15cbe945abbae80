"""Asset checks: what a film-maker would check by eye, checked on every render and shown in the UI.

- clip[shot] and upscaled_clip[shot]: exactly duration × fps frames (blocking: a short clip
  never reaches the cut; the clip's are decoded, the upscaled clip's counted as its video packets,
  which the cut's `decodes` decodes); the clip is neither all black nor frozen (a warning: a still
  shot can be meant).
- soundtrack: audio is present, audible and not clipped; a film with no music and no narration
  has nothing to be heard, and its silent soundtrack passes ("silent by design").
- final_cut: its duration matches the script's timeline, it decodes end to end, and its mix is
  at the film's loudness target (±1 LU integrated, true peak under the ceiling) as an independent
  meter (ffmpeg's `ebur128`, `peak=true`) reads the delivered AAC. The meter's reading is kept
  under FILM_HOME/cache/loudness by the digest of the cut's audio stream (its packets, read
  without decoding), so a cut whose picture alone changed is not measured again. The decode, the
  packet count and that digest come from one pass of ffmpeg over the cut (`film_pass`), which a
  render starts as soon as the cut is stored (`read_ahead`); it decodes only the pictures and sound
  that never decoded cleanly before (`decoding.read_film`: a cut after an edit, its new shots).

Each check reads the artifact the asset's latest materialization recorded, through the store
(so a file whose sha256 no longer matches fails the check instead of passing unread). The
measuring functions are plain functions of a file, so the tests and `film` can use them too;
`defs/checks.py` makes each row of `CHECKS` a Dagster asset check.
"""

import dataclasses
import functools
import hashlib
import json
import subprocess
import threading
import wave
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from film_pipeline.decoding import read_film
from film_pipeline.home import file_identity, film_home, keep_in_cache
from film_pipeline.media import Loudness, Pass, ebur128, ffmpeg_identity, read_video, read_wav, video_packets
from film_pipeline.store import ArtifactStore, IntegrityError

BLACK_LEVEL = 8.0        # mean 8-bit luma below this is black
FROZEN_DIFFERENCE = 0.05  # mean absolute change between first and last frame below this is frozen
CLIPPED_LEVEL = 0.999     # samples at or beyond this are clipped
CLIPPED_SHARE = 0.001     # more than 0.1 % clipped samples fails
SILENCE_PEAK = 1e-3       # a peak below this is silence
LOUDNESS_TOLERANCE = 1.0  # LU either side of the target
METER_VERSION = 1  # part of a kept reading's key: bump it when what `ebur128` returns changes


@dataclass
class Finding:
    passed: bool
    summary: str
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PictureFacts:
    """What the clip's checks read from its frames, in one decode."""

    frames: int
    brightest: float              # the brightest frame's mean 8-bit luma
    change: float | None = None   # mean absolute luma change from the first frame to the last (None: no frames)


def picture_facts(path: Path) -> PictureFacts:
    """The frame count, the brightest frame and the change from first to last frame, decoded once
    for the file as it is now (a clip's checks run one after another, on the same file)."""
    identity = file_identity(path)
    return _decoded_facts(Path(identity[0]), identity)


@functools.lru_cache(maxsize=1)  # the file last measured: a clip's two checks decode it once
def _decoded_facts(path: Path, identity: tuple) -> PictureFacts:
    frames, brightest, first, frame = 0, 0.0, None, None
    for frame in read_video(path):
        frames += 1
        brightest = max(brightest, float(frame.mean()))  # the mean of the channel means: the frame's mean luma
        if first is None:
            first = _luma(frame)
    return PictureFacts(frames, brightest, None if first is None else float(np.abs(_luma(frame) - first).mean()))


def _luma(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float32).mean(axis=2)


def count_frames(path: Path) -> int:
    return picture_facts(path).frames


def exact_frames(path: Path, expected: int, count: Callable[[Path], int] = count_frames) -> Finding:
    frames = count(path)
    summary = (f"{frames} frames, as the script asks" if frames == expected
               else f"{frames} frames where the script asks for {expected}")
    return Finding(frames == expected, summary, {"frames": frames, "expected_frames": expected})


def picture_alive(path: Path) -> Finding:
    """Not all black and not frozen: luma above black, and the last frame differs from the first."""
    facts = picture_facts(path)
    if facts.change is None:
        return Finding(False, "the clip has no frames")
    metadata = {"brightest_mean_luma": round(facts.brightest, 2), "first_to_last_change": round(facts.change, 3)}
    if facts.brightest < BLACK_LEVEL:
        return Finding(False, "every frame is black", metadata)
    if facts.change < FROZEN_DIFFERENCE:
        return Finding(False, "the picture is frozen: the last frame equals the first", metadata)
    return Finding(True, "the picture is lit and moves", metadata)


def audio_healthy(path: Path, sources: int | None = None) -> Finding:
    """`sources`: how many music cues and spoken voice-overs the mix has (None: not known). With
    none, silence is what the film asks for; with any (or unknown), a silent soundtrack fails."""
    samples = read_wav(path)  # every channel as stored: a downmix would change the peaks
    if samples.size == 0:
        return Finding(False, "the soundtrack has no samples")
    peak = float(np.abs(samples).max())
    clipped = float(np.mean(np.abs(samples) >= CLIPPED_LEVEL))
    metadata = {"peak": round(peak, 4), "clipped_share": round(clipped, 5), "seconds": round(len(samples) / 48_000, 3)}
    if sources is not None:
        metadata["sound_sources"] = sources
    if peak < SILENCE_PEAK:
        if sources == 0:
            return Finding(True, "silent by design: no music or narration", metadata)
        return Finding(False, "the soundtrack is silent", metadata)
    if clipped > CLIPPED_SHARE:
        return Finding(False, f"{clipped:.2%} of samples are clipped", metadata)
    return Finding(True, f"audible, peak {peak:.2f}, nothing clipped", metadata)


def sound_sources(manifest: dict, film=None) -> int | None:
    """How many music cues and spoken voice-overs a soundtrack mixed: from its manifest, or, for a
    soundtrack recorded before manifests counted its voices, from the film (None: not known)."""
    info = manifest.get("info", {})
    if "cues" in info and "voices" in info:
        return int(info["cues"]) + int(info["voices"])
    if film is None:
        return None
    return len(film.music) + sum(1 for shot in film.shots if (shot.narration or "").strip())


def decodes(path: Path) -> Finding:
    """Decode every video and audio packet; any decoder error fails."""
    errors = film_pass(path).errors
    if errors:
        return Finding(False, f"ffmpeg could not decode it: {errors.splitlines()[-1]}")
    return Finding(True, "decodes end to end")


def duration_matches(path: Path, expected_frames: int, fps: int) -> Finding:
    frames = film_pass(path).video_packets or 0  # packets, read in the pass that decodes it
    summary = (f"{frames / fps:.3f}s, the script's duration" if frames == expected_frames
               else f"{frames / fps:.3f}s where the script runs {expected_frames / fps:.3f}s")
    return Finding(frames == expected_frames, summary, {"frames": frames, "expected_frames": expected_frames})


def meter_reading(path: Path, memo: Path | None = None) -> Loudness:
    """ebur128's reading of the file's audio. With `memo`, the reading is kept there by the audio
    stream's digest and the meter's binary: the meter's pass over a feature's whole programme takes
    seconds, reading the stream's packets a fraction of that, and the same packets read the same."""
    digest = film_pass(path).audio_digest if memo is not None else None
    if digest is None:
        return ebur128(path)
    identity = f"{METER_VERSION}:{ffmpeg_identity()}:{digest}"
    kept = memo / f"{hashlib.sha256(identity.encode()).hexdigest()[:32]}.json"
    try:
        return Loudness(**json.loads(kept.read_text()))
    except (OSError, ValueError, TypeError):
        pass
    measured = ebur128(path)
    keep_in_cache(json.dumps(dataclasses.asdict(measured)), kept)
    return measured


# ---- one pass over a film for its three checks, started as soon as the cut is stored ----------

_pass_of: dict[tuple, Future] = {}  # the film file last read: its identity, and the pass over it


def read_ahead(path: Path) -> None:
    """Start the pass over a film just stored, beside the steps that follow it: the cut's checks
    then find it read (in a render, Dagster runs them after the timeline export, on the other core)."""
    key = file_identity(path)
    if key not in _pass_of:
        _pass_of.clear()
        _pass_of[key] = future = Future()
        # a daemon thread: a render stopped with Ctrl-C exits at once instead of waiting for the pass
        threading.Thread(target=_read_into, args=(future, path), name="film-pass", daemon=True).start()


def _read_into(future: Future, path: Path) -> None:
    if future.set_running_or_notify_cancel():
        try:
            future.set_result(read_film(path))
        except BaseException as error:  # noqa: BLE001 - the check that asks raises it
            future.set_exception(error)


def film_pass(path: Path) -> Pass:
    """`decoding.read_film` of the file as it is now, read once for the checks that ask (the
    decode, the packet count and the audio digest), or found read ahead."""
    key = file_identity(path)
    ahead = _pass_of.get(key)
    if ahead is not None:
        try:
            return ahead.result()
        except Exception:  # noqa: BLE001 - read again here, where the error is the caller's
            pass
    _pass_of.clear()
    read = read_film(path)
    _pass_of[key] = done = Future()
    done.set_result(read)
    return read


def loudness_on_target(path: Path, loudness: float, true_peak: float, silent: bool = False,
                       memo: Path | None = None) -> Finding:
    """The programme's integrated loudness within ±1 LU of `loudness` and its true peak at most
    `true_peak`, as ffmpeg's ebur128 meter (4x oversampled true peak) reads the file's audio
    (`meter_reading`: with `memo`, a reading kept for the same audio stream)."""
    measured = meter_reading(path, memo)
    metadata = {"loudness_lufs": round(measured.integrated, 2), "true_peak_dbtp": round(measured.true_peak, 2)
                if measured.true_peak > -200 else -200.0, "loudness_range_lu": round(measured.range, 2),
                "loudness_target": loudness, "true_peak_target": true_peak}
    if silent:
        return Finding(True, "silent by design: no music or narration to master", metadata)
    summary = f"{measured.integrated:.1f} LUFS (target {loudness:g}), true peak {measured.true_peak:.1f} dBTP (at most {true_peak:g})"
    if abs(measured.integrated - loudness) > LOUDNESS_TOLERANCE:
        return Finding(False, f"{summary}: more than {LOUDNESS_TOLERANCE:g} LU off the target", metadata)
    if measured.true_peak > true_peak:
        return Finding(False, f"{summary}: the true peak is over the ceiling", metadata)
    return Finding(True, summary, metadata)


# ---- the checks each asset gets ----------------------------------------------------------

@dataclass(frozen=True)
class CheckSpec:
    asset: str
    name: str
    description: str
    measure: Callable[..., Finding]  # (store, manifest) -> Finding; with uses_film, (store, manifest, film)
    warn_only: bool = False  # a failure is a warning (a still shot can be meant), not an error
    blocking: bool = False
    uses_film: bool = False  # the measure also reads the film (a Film, or None where it cannot be read)


def _video(store: ArtifactStore, manifest: dict) -> Path:
    video = manifest["files"]["video"]
    return store.local_path(video["key"], video["sha256"])


def _audio(store: ArtifactStore, manifest: dict) -> Path:
    audio = manifest["files"]["audio"]
    return store.local_path(audio["key"], audio["sha256"])


def _final_loudness(store: ArtifactStore, manifest: dict) -> Finding:
    info = manifest["info"]
    if "loudness_target" not in info:
        return Finding(False, "this cut was not mastered (it predates loudness mastering): render it again")
    return loudness_on_target(_video(store, manifest), info["loudness_target"], info["true_peak_target"],
                              silent=info.get("mastering") == "silent", memo=film_home() / "cache" / "loudness")


def _final_duration(store: ArtifactStore, manifest: dict) -> Finding:
    info = manifest["info"]
    return duration_matches(_video(store, manifest), info["expected_frames"], info["fps"])


CHECKS = (
    CheckSpec("clip", "exact_frames", "The clip has exactly duration × fps frames.",
              lambda store, m: exact_frames(_video(store, m), m["info"]["expected_frames"]), blocking=True),
    CheckSpec("clip", "picture_alive", "The clip is neither all black nor frozen.",
              lambda store, m: picture_alive(_video(store, m)), warn_only=True),
    # counted, not decoded: the upscale writes a packet per frame, and the cut's `decodes` decodes them all
    CheckSpec("upscaled_clip", "exact_frames", "The upscaled clip kept every frame (its video packets, counted).",
              lambda store, m: exact_frames(_video(store, m), m["info"]["expected_frames"], video_packets),
              blocking=True),
    CheckSpec("soundtrack", "audio_healthy",
              "The soundtrack is present, audible and not clipped (silent only when the film has no music or narration).",
              lambda store, m, film: audio_healthy(_audio(store, m), sound_sources(m, film)), uses_film=True),
    CheckSpec("final_cut", "duration_matches_script", "The cut runs exactly as long as the script's timeline.",
              _final_duration),
    CheckSpec("final_cut", "decodes", "The cut decodes end to end, video and audio.",
              lambda store, m: decodes(_video(store, m))),
    CheckSpec("final_cut", "loudness", "The mix is at the film's loudness target (±1 LU integrated) and its true "
              "peak under the ceiling, as ffmpeg's ebur128 meter reads the cut.", _final_loudness),
)


def evaluate(store: ArtifactStore, manifest_key: str, spec: CheckSpec, film=None) -> Finding:
    """Run one check on a stored artifact; a missing or corrupted file is a failed check, not a crash."""
    try:
        manifest = store.read_json(manifest_key)
        return spec.measure(store, manifest, film) if spec.uses_film else spec.measure(store, manifest)
    except (IntegrityError, OSError, KeyError, ValueError, EOFError, wave.Error, json.JSONDecodeError,
            subprocess.SubprocessError) as error:
        return Finding(False, f"could not read the artifact: {error}", {"manifest": manifest_key})
