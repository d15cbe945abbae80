"""Editing: the soundtrack mix and the final cut, plus the pictures people look at (poster, contact sheet).

Both the mix and the cut place shots with `timeline.layout`, so sound and picture line up to
the frame. The cut copies shots joined by hard cuts as they are and composes only what changes
pixels (the title over the opening shot, fades, crossfades); ffmpeg joins the pieces without
re-encoding them and adds the soundtrack, mastered to the film's loudness target, as AAC-LC, and
the subtitles as a soft track, in a fast-start MP4 whose H.264 stream carries its colour tags.
"""

import hashlib
import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from film_pipeline.backends import CueRequest
from film_pipeline.film import Delivery, derived_seed
from film_pipeline.home import file_identity, keep_in_cache
from film_pipeline.media import (WavWriter, ebur128, read_video, read_wav, run_ffmpeg, scale_audio, wav_shape,
                                 write_alpha_video, write_master)
from film_pipeline.store import sha256_file
from film_pipeline.timeline import Placement, total_frames

VOICE_LEAD_IN = 0.15   # seconds after the shot starts before the narrator speaks
DUCK_GAIN = 0.35       # the score's level under the voice
PEAK = 0.89            # about -1 dBFS
TITLE_SECONDS = 3.0


def cue_spans(cues: list[dict], placements: list[Placement], fps: int, film_seed: int) -> list[CueRequest]:
    """Seconds each cue plays: from its start shot (or the previous cue's end) to its end shot
    (or the next cue's explicit start, or the end of the film)."""
    by_id = {p.shot_id: p for p in placements}
    film_end = total_frames(placements) / fps
    spans, previous_end = [], 0.0
    for index, cue in enumerate(cues):
        start = by_id[cue["start"]].start / fps if cue.get("start") else previous_end
        following = next((c for c in cues[index + 1:] if c.get("start")), None)
        end = (by_id[cue["end"]].end / fps if cue.get("end")
               else by_id[following["start"]].start / fps + 1.0 if following else film_end)
        end = min(end, film_end)
        spans.append(CueRequest(cue["id"], cue["prompt"], start, end, derived_seed(film_seed, "cue", cue["id"])))
        previous_end = end
    return spans


def voice_start(placement: Placement, fps: int, rate: int) -> int:
    """The sample at which the mix starts a shot's voice-over: VOICE_LEAD_IN after its shot starts.
    The subtitles and the timeline exports place it from here too."""
    return int((placement.start / fps + VOICE_LEAD_IN) * rate)


def mix(music: np.ndarray, voices: list[tuple[Placement, np.ndarray]], fps: int, rate: int) -> tuple[np.ndarray, list[str]]:
    """Lay each voice at its shot, duck the score under it, keep the peak under -1 dBFS."""
    mixed, _, warnings = mix_stems(music, voices, fps, rate)
    return mixed, warnings


PRESENCE_SECONDS = 0.3  # the window the score's ducking follows the voice over


class VoicePresence:
    """The share of the 0.3 s around each sample in which the voice is heard: a moving average,
    counted from a running sum of where it is heard (a direct convolution took 15 s for a 40 s
    soundtrack and hours for a feature). It is np.convolve(heard, ones(k) / k, "same") to within
    2e-15; asked a span at a time, so a feature's mix never holds it whole."""

    def __init__(self, voice_track: np.ndarray, rate: int):
        width = int(PRESENCE_SECONDS * rate)
        self.before = (width - 1) // 2
        self.after = width - 1 - self.before  # the window is heard[i - after : i + before + 1]
        self.count, self.weight = len(voice_track), 1 / (PRESENCE_SECONDS * rate)
        # a count of samples: int32 holds 12 hours at 48 kHz, in half int64's memory
        self.sums = np.zeros(self.count + 1, np.int32 if self.count < 2**31 else np.int64)
        np.cumsum(np.abs(voice_track) > 0.01, out=self.sums[1:])

    def span(self, start: int, end: int) -> np.ndarray:
        index = np.arange(start, end)
        ahead = self.sums[np.minimum(index + self.before + 1, self.count)]
        behind = self.sums[np.maximum(index - self.after, 0)]
        return (ahead - behind) * self.weight


MIX_SPAN = 1 << 21  # samples the mix and the limiter work on at a time (44 s at 48 kHz): a feature in bounded memory


class Mix:
    """The voices laid at their shots over the score, ducked under them, at one gain that keeps the
    peak under -1 dBFS; and the score as it plays in it (the stem a timeline export lays under the
    voice-overs). `spans()` yields (mix, score stem) a span at a time: the same arithmetic, sample
    by sample, as on the whole track at once (a feature's whole mix in float64 is gigabytes)."""

    def __init__(self, music: np.ndarray, voices: list[tuple[Placement, np.ndarray]], fps: int, rate: int):
        self.music, self.voice_track, self.warnings = music, np.zeros(len(music), np.float32), []
        for placement, samples in voices:
            first = voice_start(placement, fps, rate)
            if first + len(samples) > placement.end * rate / fps:
                self.warnings.append(f"narration of shot `{placement.shot_id}` runs {len(samples) / rate:.1f}s, "
                                     f"past the end of its shot; shorten it or lengthen the shot")
            piece = samples[: max(0, len(self.voice_track) - first)]
            self.voice_track[first:first + len(piece)] += piece
        self.presence = VoicePresence(self.voice_track, rate)
        self.bounds = [(start, min(start + MIX_SPAN, len(music))) for start in range(0, len(music), MIX_SPAN)]
        peak = max((float(np.abs(self._ducked(*span)[1]).max()) for span in self.bounds), default=0.0)
        self.gain = PEAK / peak if peak > PEAK else 1.0

    def _ducked(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """(score, mix) over a span, before the gain."""
        duck = 1 - (1 - DUCK_GAIN) * np.clip(self.presence.span(start, end) * 4, 0, 1)
        score = self.music[start:end] * duck[:, None]
        return score, score + self.voice_track[start:end, None]

    def spans(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start, end in self.bounds:
            score, out = self._ducked(start, end)
            yield (out * self.gain).astype(np.float32), (score * self.gain).astype(np.float32)


def mix_stems(music: np.ndarray, voices: list[tuple[Placement, np.ndarray]], fps: int,
              rate: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The whole `Mix` in memory: (mix, score stem, warnings)."""
    mixing = Mix(music, voices, fps, rate)
    mixed, stem = np.empty(music.shape, np.float32), np.empty(music.shape, np.float32)
    for (start, end), (out, score) in zip(mixing.bounds, mixing.spans()):
        mixed[start:end], stem[start:end] = out, score
    return mixed, stem, mixing.warnings


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def title_card(title: str, logline: str | None, size: tuple[int, int]) -> Image.Image:
    """The film's title (and logline) as a transparent overlay for the opening shot."""
    width, height = size
    card = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, int(height * 0.36), width, int(height * 0.64)), fill=(0, 0, 0, 110))
    big, small = _font(max(10, height // 9)), _font(max(8, height // 26))
    draw.text((width / 2, height * 0.47), title, font=big, fill=(255, 255, 255, 245), anchor="mm")
    if logline:
        draw.text((width / 2, height * 0.58), logline[:110], font=small, fill=(230, 230, 230, 230), anchor="mm")
    return card


@dataclass
class Segment:
    """A stretch of the cut: one clip copied as it is, or shots composed (title, fades, crossfades)."""
    shots: list[int]      # indexes into the placements
    composed: bool

    def span(self, placements: list[Placement]) -> tuple[int, int]:
        return placements[self.shots[0]].start, max(placements[i].end for i in self.shots)


def segments(placements: list[Placement]) -> list[Segment]:
    """Splits the timeline into stream-copied shots and composed segments. A shot is composed when
    the title lies over it (the first), it fades, or it dissolves into its neighbour; shots that
    overlap (a crossfade) share a segment, every other composed shot has one of its own, so an
    edit re-composes only the segment of the shot it touched. Segments tile the film frame for frame."""
    def composed(index: int) -> bool:
        p = placements[index]
        dissolves_out = index + 1 < len(placements) and placements[index + 1].crossfade_in > 0
        return index == 0 or bool(p.fade_in or p.fade_out or p.crossfade_in) or dissolves_out

    result: list[Segment] = []
    for index in range(len(placements)):
        if placements[index].crossfade_in > 0 and result:  # it overlaps the shot before: one segment
            result[-1].shots.append(index)
        else:
            result.append(Segment([index], composed(index)))
    return result


def compose(clips: list[tuple[Placement, Path]], shots: list[int], first: int, last: int, card: Image.Image | None,
            card_frames: int) -> Iterator[np.ndarray]:
    """Frames `first`..`last - 1` of the film from the clips of `shots`: each shot over black with
    its fades, a dissolving shot over the one before, the title card over the opening; clips are
    decoded as they play."""
    title = _Title(card, card_frames) if card is not None else None
    readers: dict[int, Iterator[np.ndarray]] = {}
    for frame in range(first, last):
        layers = []
        for index in shots:
            placement, path = clips[index]
            if not placement.start <= frame < placement.end:
                readers.pop(index, None)
                continue
            local = frame - placement.start
            if index not in readers:
                readers[index] = _frames_from(path, local)
            picture = next(readers[index])
            light = min(_ramp(local, placement.fade_in), _ramp(placement.frames - 1 - local, placement.fade_out))
            layers.append((picture, light, _ramp(local, placement.crossfade_in)))
        picture = _blend(layers)
        yield title.over(picture, frame) if title is not None and frame < card_frames else picture


def _blend(layers: list[tuple[np.ndarray, float, float]]) -> np.ndarray:
    """Layers (picture, light, opacity) in order over black; a lone opaque, unfaded picture as it is."""
    if len(layers) == 1 and layers[0][1:] == (1.0, 1.0):
        return layers[0][0]
    canvas = np.zeros(layers[0][0].shape, np.float32)
    for picture, light, opacity in layers:
        canvas *= 1 - opacity
        canvas += picture * np.float32(light * opacity)
    return canvas.round().astype(np.uint8)


class _Title:
    """The title card's band, blended over the opening frames as it dissolves in and out."""

    def __init__(self, card: Image.Image, frames: int):
        rgba = np.asarray(card, np.float32)
        rows = np.flatnonzero(rgba[..., 3].any(axis=1))
        self.band = slice(rows[0], rows[-1] + 1) if len(rows) else slice(0, 0)
        self.colour, self.alpha = rgba[self.band, :, :3], rgba[self.band, :, 3:] / 255
        self.frames = frames

    def over(self, picture: np.ndarray, frame: int) -> np.ndarray:
        strength = min(_ramp(frame, self.frames // 5), _ramp(self.frames - 1 - frame, self.frames // 4))
        alpha = self.alpha * np.float32(strength)
        out = picture.copy()
        out[self.band] = (picture[self.band] * (1 - alpha) + self.colour * alpha).round().astype(np.uint8)
        return out


def title_overlay(card: Image.Image, frames: int) -> Iterator[np.ndarray]:
    """The title card as RGBA frames whose alpha dissolves in and out exactly as the cut's title
    does: laid over the opening shot (a timeline export's title track), it makes the cut's frames."""
    rgba = np.asarray(card, np.float32)
    for frame in range(frames):
        strength = min(_ramp(frame, frames // 5), _ramp(frames - 1 - frame, frames // 4))
        out = rgba.copy()
        out[..., 3] *= strength
        yield out.round().astype(np.uint8)


# Bump when title_overlay() or its encoding changes: a kept title overlay is then made again.
TITLE_OVERLAY_CODE_VERSION = "1"


def write_title_overlay(card: Image.Image, frames: int, fps: int, size: tuple[int, int], out: Path,
                        cache: Path | None = None) -> None:
    """The title as a clip with alpha (the timeline exports lay it over the opening shot); with
    `cache`, made once per title card, length and frame rate, and copied from there after."""
    key = hashlib.sha256(f"{TITLE_OVERLAY_CODE_VERSION}:{fps}:{size}:{frames}:".encode() + card.tobytes()).hexdigest()[:32]
    kept = cache / f"title-{key}.mov" if cache is not None else None
    if kept is not None and kept.exists():
        shutil.copyfile(kept, out)
        return
    write_alpha_video(out, title_overlay(card, frames), fps, size)
    if kept is not None:
        keep_in_cache(out, kept)


def title_frames(placements: list[Placement], fps: int) -> int:
    """How many frames of the opening shot the title lies over."""
    return min(round(TITLE_SECONDS * fps), placements[0].frames)


def _ramp(position: int, length: int) -> float:
    """0 → 1 over `length` frames (1 when there is no ramp)."""
    return 1.0 if length <= 0 else min(1.0, (position + 1) / (length + 1))


def _frames_from(path: Path, skip: int) -> Iterator[np.ndarray]:
    frames = read_video(path)
    for _ in range(skip):
        next(frames)
    return frames


def assemble(clips: list[tuple[Placement, Path]], soundtrack: Path, title: str, logline: str | None,
             fps: int, size: tuple[int, int], out: Path, poster: Path, *, delivery: Delivery | None = None,
             subtitles: Path | None = None, language: str = "en", report: dict | None = None,
             cache: Path | None = None, soundtrack_sha256: str | None = None,
             clip_sha256: dict[Path, str] | None = None) -> int:
    """Cut the clips together over the soundtrack; write the MP4 and a poster; return the frame count.
    With `cache`, composed segments and the mastered soundtrack are kept there and found again (an
    edit re-composes only the segments whose clips or timing changed, and masters the soundtrack
    again only when it changed).

    Shots joined by hard cuts are stream-copied (the clips are already H.264 at the cut's size and
    settings); only composed segments are encoded again, with the clips' own encoder settings so
    that ffmpeg's concat demuxer can join them; the soundtrack is mastered to `delivery` (when
    given) and encoded to AAC-LC 48 kHz on the way. `subtitles` (SRT) becomes a soft mov_text
    track in `language`. The MP4 starts with its index (faststart) and its H.264 stream says its
    colours (BT.709 primaries, transfer and matrix). `report` receives the mastering's measurements.
    `soundtrack_sha256`, where the caller has checked it, spares hashing the soundtrack again for the
    cache (a feature's soundtrack is a gigabyte), and `clip_sha256` (by path) the clips of composed
    segments (a feature crossfading every 4th shot has 1,000 of them).
    """
    placements = [p for p, _ in clips]
    frames = total_frames(placements)
    seconds = frames / fps
    audio = out.with_name(f"{out.stem}.audio.m4a")
    # the soundtrack's mastering and AAC encoding run beside the composing (two cores, two jobs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        encoding = pool.submit(_delivered_audio, soundtrack, audio, seconds, delivery, out.with_name(f"{out.stem}.master"),
                               cache, soundtrack_sha256)
        parts = _video_parts(clips, placements, title_card(title, logline, size), fps, size, out, poster, cache,
                             clip_sha256 or {})
        audio, measured = encoding.result()
    if report is not None:
        report.update(measured)
    listing = _concat_list(_in_runs(parts, cache, out), out.with_name(f"{out.stem}.concat.txt"))
    inputs, maps, options = ["-i", str(audio)], ["-map", "0:v:0", "-map", "1:a:0"], []
    if subtitles is not None:
        inputs += ["-i", str(subtitles)]
        maps += ["-map", "2:s:0"]
        options += ["-c:s", "mov_text", "-metadata:s:s:0", f"language={iso639_2(language)}",
                    "-metadata:s:s:0", "handler_name=Subtitles", "-disposition:s:0", "0"]
    run_ffmpeg("-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), *inputs, *maps,
               "-c:v", "copy", "-c:a", "copy", *options, "-bsf:v", COLOUR_TAGS, "-t", f"{seconds:.6f}",
               "-movflags", "+faststart", str(out), check=True, capture_output=True)
    return frames


# Every part of the cut is encoded BT.709 (media.write_master): the H.264 stream says so throughout,
# rewritten in place (stream copy) by the h264_metadata bitstream filter, whatever the container had;
# `tv` range.
COLOUR_TAGS = ("h264_metadata=video_full_range_flag=0:colour_primaries=1:transfer_characteristics=1"
               ":matrix_coefficients=1")
TRUE_PEAK_HEADROOM = 0.5  # dB below the target the mastering aims, for the AAC encoder's overshoot


SILENT = -70.0  # LUFS: the meter's absolute gate; below it there is nothing to master


# Bump when the mastering or the soundtrack's AAC encoding changes: a kept soundtrack is then made again.
# 2: measured by ffmpeg's ebur128 meter and raised by a plain gain, not by loudnorm
AUDIO_CODE_VERSION = "2"


def _delivered_audio(soundtrack: Path, audio: Path, seconds: float, delivery: Delivery | None, work: Path,
                     cache: Path | None, digest: str | None = None) -> tuple[Path, dict]:
    """The AAC to mux (`audio`, from `_deliver_audio`) and the mastering's measurements; with
    `cache`, the AAC and measurements kept from a cut with the same soundtrack bytes, length and
    delivery, the kept file muxed as it is (a feature's is 42 MB): an edit that changes no sound
    masters and copies nothing."""
    if cache is None:
        return audio, _deliver_audio(soundtrack, audio, seconds, delivery, work)
    target = (delivery.loudness, delivery.true_peak) if delivery else None
    identity = f"{AUDIO_CODE_VERSION}:{seconds:.6f}:{target}:{digest or sha256_file(soundtrack)}"
    key = hashlib.sha256(identity.encode()).hexdigest()[:32]
    kept, facts = cache / f"{key}.m4a", cache / f"{key}.json"
    try:
        measured = json.loads(facts.read_text())
        if kept.is_file():
            return kept, measured
    except (OSError, ValueError):
        pass
    measured = _deliver_audio(soundtrack, audio, seconds, delivery, work)
    keep_in_cache(audio, kept)
    keep_in_cache(json.dumps(measured), facts)  # written last: it says the AAC beside it is whole
    return audio, measured


def _deliver_audio(soundtrack: Path, audio: Path, seconds: float, delivery: Delivery | None, work: Path) -> dict:
    """Master the soundtrack to `delivery` and encode it to AAC-LC. ffmpeg's ebur128 meter reads its
    integrated loudness and true peak; then one gain where that reaches the target under the
    true-peak ceiling, else the gain and a true-peak limiter. Then the encoded AAC is measured and,
    if the codec's overshoot lifted its true peak over the target, lowered by the excess and
    encoded again. (Until AUDIO_CODE_VERSION 2, loudnorm measured and applied the gain: its pass
    runs at 192 kHz, 22 s for a 448 s mix against the meter's 3 s, and it was run three times.)"""
    if delivery is None:
        _aac(soundtrack, audio, seconds)
        return {}
    before = ebur128(soundtrack)
    facts = {"loudness_target": delivery.loudness, "true_peak_target": delivery.true_peak,
             "loudness_before": _db(before.integrated), "true_peak_before": _db(before.true_peak)}
    if before.integrated <= SILENT:  # silence by design: nothing to raise
        _aac(soundtrack, audio, seconds)
        return {**facts, "loudness": _db(before.integrated), "true_peak": _db(before.true_peak), "mastering": "silent"}
    work.mkdir(exist_ok=True)
    ceiling = delivery.true_peak - TRUE_PEAK_HEADROOM
    mastered = work / "mastered.wav"
    gain = delivery.loudness - before.integrated
    if before.true_peak + gain <= ceiling:  # one gain reaches the target under the ceiling
        scale_audio(soundtrack, mastered, gain)
        facts["mastering"] = "linear gain"
    else:  # the gain the target needs lifts peaks over the ceiling: gain, then a true-peak limiter
        facts["mastering"] = "gain + true-peak limiter"
        _gain_and_limit(soundtrack, mastered, delivery.loudness, ceiling, gain)
    _aac(mastered, audio, seconds)
    delivered = ebur128(audio)
    for attempt in range(3):
        if delivered.true_peak <= delivery.true_peak - 0.05:
            break
        lowered = work / f"lowered{attempt}.wav"
        scale_audio(mastered, lowered, delivery.true_peak - 0.15 - delivered.true_peak)
        mastered = lowered
        _aac(mastered, audio, seconds)
        delivered = ebur128(audio)
    return {**facts, "loudness": _db(delivered.integrated), "true_peak": _db(delivered.true_peak),
            "loudness_range": _db(delivered.range)}


def _gain_and_limit(source: Path, out: Path, loudness: float, ceiling: float, gain: float) -> None:
    """Raise the mix by `gain` dB and hold its true peak under `ceiling` dBTP, then correct the gain
    by what the meter reads until the loudness is on target (limiting takes a little off)."""
    for _ in range(4):
        limit_wav(source, out, gain, ceiling)
        miss = loudness - ebur128(out).integrated
        if abs(miss) < 0.1:
            break
        gain += miss


# 4x oversampling, as BS.1770's true-peak meter does: three interpolating phases (a windowed sinc)
_PHASES = [np.sinc(np.arange(-6, 6) + phase / 4) * np.hanning(14)[1:13] for phase in (1, 2, 3)]


def true_peak_limit(samples: np.ndarray, ceiling_db: float, rate: int = 48_000) -> np.ndarray:
    """`samples` (n, channels) with their true peak (4x oversampled) held under `ceiling_db`: the
    gain each sample needs, its minimum over 5 ms either side, smoothed over 5 ms (so it dips
    before a peak and recovers after it, and never lets one through)."""
    taps = len(_PHASES[0])
    if 0 < len(samples) < taps:  # shorter than the interpolation: limited as if silence followed
        return true_peak_limit(np.pad(samples, ((0, taps - len(samples)), (0, 0))), ceiling_db, rate)[:len(samples)]
    ceiling = 10 ** (ceiling_db / 20)
    envelope = np.abs(samples).max(axis=1)
    for channel in samples.T:
        for phase in _PHASES:
            envelope = np.maximum(envelope, np.abs(np.convolve(channel, phase.astype(np.float32), mode="same")))
    need = np.minimum(1.0, ceiling / np.maximum(envelope, 1e-9)).astype(np.float32)
    width = _limiter_width(rate)
    padded = np.pad(need, width, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * width + 1)
    floor = windows.min(axis=1)
    smooth = np.convolve(np.pad(floor, width // 2, mode="edge"), np.ones(width // 2 * 2 + 1) / (width // 2 * 2 + 1),
                         mode="valid").astype(np.float32)
    return samples * smooth[: len(samples), None]


def _limiter_width(rate: int) -> int:
    return max(1, int(0.005 * rate))  # 5 ms


def limit_wav(source: Path, out: Path, gain: float, ceiling_db: float, span: int = MIX_SPAN) -> None:
    """`true_peak_limit` on a WAV raised by `gain` dB, a span at a time, into `out`. Each span is
    limited with as many of its neighbours either side as a sample's gain looks at, and only its
    own samples kept: the same samples, to the bit, as limiting the whole file at once (tested), in memory a
    span needs instead of the whole programme (4 GB at 2,000 shots)."""
    frames, channels, rate = wav_shape(source)
    raise_by = np.float32(10 ** (gain / 20))
    # how far one sample's limiting gain looks: the interpolation taps, the minimum, the smoothing
    width = _limiter_width(rate)
    reach = len(_PHASES[0]) // 2 + width + width // 2 + 1
    with WavWriter(out, channels, rate) as written:
        for start in range(0, frames, span):
            end = min(start + span, frames)
            first, last = max(0, start - reach), min(frames, end + reach)
            limited = true_peak_limit(read_wav(source, first, last) * raise_by, ceiling_db, rate)
            written.write(limited[start - first:end - first])


def _aac(source: Path, audio: Path, seconds: float) -> None:
    run = run_ffmpeg("-v", "error", "-y", "-i", str(source), "-c:a", "aac", "-profile:a", "aac_low", "-aac_coder", "fast",
                     "-b:a", "192k", "-ar", "48000", "-t", f"{seconds:.6f}", str(audio), capture_output=True)
    if run.returncode:
        raise RuntimeError(f"ffmpeg could not encode the soundtrack {source}: {run.stderr.decode().strip()}")


def _db(value: float) -> float:
    return round(value, 2) if np.isfinite(value) else -120.0


# ISO 639-1 codes as MP4 writes them (ISO 639-2/B); any three-letter code passes through as it is
_ISO639_2 = {"en": "eng", "fr": "fre", "de": "ger", "es": "spa", "it": "ita", "pt": "por", "nl": "dut", "sv": "swe",
             "da": "dan", "no": "nor", "nb": "nob", "nn": "nno", "fi": "fin", "pl": "pol", "cs": "cze", "sk": "slo",
             "hu": "hun", "ro": "rum", "el": "gre", "tr": "tur", "ru": "rus", "uk": "ukr", "ar": "ara", "he": "heb",
             "hi": "hin", "bn": "ben", "ja": "jpn", "ko": "kor", "zh": "chi", "vi": "vie", "th": "tha", "id": "ind",
             "ms": "may", "fa": "per", "ur": "urd", "ta": "tam", "te": "tel", "ca": "cat", "eu": "baq", "gl": "glg",
             "ga": "gle", "cy": "wel", "is": "ice", "et": "est", "lv": "lav", "lt": "lit", "sl": "slv", "hr": "hrv",
             "sr": "srp", "bg": "bul", "mk": "mac", "sq": "alb", "hy": "arm", "ka": "geo", "sw": "swa", "af": "afr",
             "la": "lat", "eo": "epo"}


def iso639_2(language: str) -> str:
    """The three-letter code an MP4 track's language is written in (`und` where none is known)."""
    return language if len(language) == 3 else _ISO639_2.get(language, "und")


def _video_parts(clips: list[tuple[Placement, Path]], placements: list[Placement], card: Image.Image, fps: int,
                 size: tuple[int, int], out: Path, poster: Path, cache: Path | None = None,
                 clip_sha256: dict[Path, str] | None = None) -> list[Path]:
    """The files the cut joins, in order: clips as they are, composed segments encoded (or, with
    `cache`, found there: a segment is the same bytes whenever its clips and its timing are)."""
    card_frames = title_frames(placements, fps)
    parts = []
    for number, segment in enumerate(segments(placements)):
        if not segment.composed:
            parts.append(clips[segment.shots[0]][1])
            continue
        first, last = segment.span(placements)
        key = segment_key(clips, segment, first, last, card, card_frames, fps, size, clip_sha256) if cache else None
        cached = cache / f"{key}.mp4" if key else None
        if cached is not None and cached.exists() and (first != 0 or cached.with_suffix(".poster.png").exists()):
            if first == 0:
                shutil.copyfile(cached.with_suffix(".poster.png"), poster)
            parts.append(cached)
            continue
        path = out.with_name(f"{out.stem}.segment{number}.mp4")
        pictures = compose(clips, segment.shots, first, last, card if first == 0 else None, card_frames)
        if first == 0:
            pictures = _saving(pictures, int(card_frames * 0.45), poster)
        write_master(path, pictures, fps, size)
        if cached is not None:
            _keep(path, cached, poster if first == 0 else None)
        parts.append(cached if cached is not None and cached.exists() else path)  # the same file the next cut finds
    return parts


def _concat_list(parts: list[Path], listing: Path) -> Path:
    listing.write_text("".join(f"file '{_quoted(path)}'\n" for path in parts))
    return listing


RUN = 32  # parts joined into one file of the cut's cache, as a feature's cut joins them (see _in_runs)
# Bump when _in_runs() joins differently: a kept run is then joined again.
RUN_CODE_VERSION = "1"


def _in_runs(parts: list[Path], cache: Path | None, out: Path) -> list[Path]:
    """The parts as the cut's concat joins them. With `cache`, a film of more than 2 × RUN parts
    has its parts after the first joined in runs of RUN (ffmpeg's concat, stream copy), each kept
    in the cache by the files it joins: the cut then opens N / RUN files instead of N (2,000 took
    2.5 s), and an edit joins again only the run of the part it changed. The first part stays on
    its own, as the cut's stream takes its settings from the first file: the cut is the same
    bytes either way (tested)."""
    if cache is None or len(parts) <= 2 * RUN:
        return parts
    joined = [parts[0]]
    for start in range(1, len(parts), RUN):
        run = parts[start:start + RUN]
        key = hashlib.sha256(RUN_CODE_VERSION.encode())
        for path in run:  # a part is a stored clip or a kept segment: a new one is a new file
            key.update(f"|{file_identity(path)}".encode())
        kept = cache / f"run-{key.hexdigest()[:32]}.mp4"
        if not kept.exists():
            made = out.with_name(f"{out.stem}.run{start}.mp4")
            run_ffmpeg("-v", "error", "-y", "-f", "concat", "-safe", "0",
                       "-i", str(_concat_list(run, out.with_name(f"{out.stem}.run{start}.txt"))),
                       "-map", "0:v:0", "-c", "copy", str(made), check=True, capture_output=True)
            if not keep_in_cache(made, kept):
                joined.append(made)  # a cache that cannot be written is only a cache
                continue
        joined.append(kept)
    return joined


# Bump when compose() or the composed parts' encoding changes: a cached segment is then made again.
SEGMENT_CODE_VERSION = "1"


def segment_key(clips: list[tuple[Placement, Path]], segment: Segment, first: int, last: int, card: Image.Image,
                card_frames: int, fps: int, size: tuple[int, int], clip_sha256: dict[Path, str] | None = None) -> str:
    """What a composed segment's frames depend on: its clips' bytes (their sha256: from `clip_sha256`
    where the caller checked it, else read), their timing within it, the title card over it (the
    opening), the frame rate and size, and the code that composes it."""
    known = clip_sha256 or {}
    digest = hashlib.sha256(f"{SEGMENT_CODE_VERSION}:{fps}:{size}:{last - first}".encode())
    for index in segment.shots:
        placement, path = clips[index]
        digest.update(f"|{placement.start - first}:{placement.frames}:{placement.fade_in}:{placement.fade_out}:"
                      f"{placement.crossfade_in}:{known.get(path) or sha256_file(path)}".encode())
    if first == 0:
        digest.update(f"|title:{card_frames}:".encode() + card.tobytes())
    return digest.hexdigest()[:32]


def _keep(path: Path, cached: Path, poster: Path | None) -> None:
    """Put a new segment (and the poster made from it) in the cache, the poster first: a segment
    found there has its poster."""
    if poster is None or keep_in_cache(poster, cached.with_suffix(".poster.png")):
        keep_in_cache(path, cached)


def _saving(pictures: Iterator[np.ndarray], index: int, path: Path) -> Iterator[np.ndarray]:
    for number, picture in enumerate(pictures):
        if number == index:
            Image.fromarray(picture).save(path)
        yield picture


def _quoted(path: Path) -> str:
    """A path as the concat demuxer's `file` directive reads it (single quotes escaped)."""
    return str(path.resolve()).replace("'", "'\\''")


def contact_sheet(images: list[tuple[str, Image.Image]], columns: int = 4, tile_width: int = 240,
                  numbers: list[int] | None = None) -> Image.Image:
    """A grid of labelled thumbnails (one per shot, in film order), each numbered from 1 or by
    `numbers` (a sheet of some of the shots keeps their places in the film)."""
    if not images:
        return Image.new("RGB", (tile_width, tile_width // 2), (20, 20, 20))
    first = images[0][1]
    tile_height = round(first.height * tile_width / first.width)
    label = max(12, tile_width // 14)
    columns = min(columns, len(images))
    rows = -(-len(images) // columns)
    gap = 6
    sheet = Image.new("RGB", (columns * (tile_width + gap) + gap, rows * (tile_height + label + gap) + gap), (18, 18, 20))
    draw = ImageDraw.Draw(sheet)
    for index, (name, image) in enumerate(images):
        x = gap + (index % columns) * (tile_width + gap)
        y = gap + (index // columns) * (tile_height + label + gap)
        sheet.paste(image.convert("RGB").resize((tile_width, tile_height), Image.Resampling.LANCZOS), (x, y))
        number = numbers[index] if numbers else index + 1
        draw.text((x + 2, y + tile_height + 1), f"{number}. {name}", font=_font(label - 3), fill=(225, 225, 225))
    return sheet
