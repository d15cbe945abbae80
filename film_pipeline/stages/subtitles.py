"""subtitles: SRT and WebVTT, one cue per narrated shot, timed to where its voice-over plays in the mix.

A cue starts where `edit.mix` lays the shot's voice-over (VOICE_LEAD_IN after the shot starts)
and lasts as long as the voice-over does (cut at the end of the film, as the mix cuts it). The
final cut carries them beside itself and as a soft subtitle track.
"""

import textwrap
from dataclasses import dataclass
from pathlib import Path

from film_pipeline.edit import voice_start
from film_pipeline.media import SAMPLE_RATE, audio_frames
from film_pipeline.stages import Rendered
from film_pipeline.timeline import Placement, total_frames

LINE_LENGTH = 42  # characters per subtitle line, the common limit for readable captions


@dataclass(frozen=True)
class Cue:
    shot: str
    start: float  # seconds
    end: float
    text: str


def cues(placements: list[Placement], voices: list[tuple[str, Path]], fps: int) -> list[Cue]:
    """One cue per shot whose narration is spoken: `voices` are (text, voice-over file) in the
    placements' order."""
    film_end = total_frames(placements) / fps
    found = []
    for placement, (text, path) in zip(placements, voices):
        text = " ".join((text or "").split())
        if not text:
            continue
        samples = audio_frames(path)
        first = voice_start(placement, fps, SAMPLE_RATE)
        start, end = first / SAMPLE_RATE, min(film_end, (first + samples) / SAMPLE_RATE)
        if samples and end > start:
            found.append(Cue(placement.shot_id, start, end, text))
    return found


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def _lines(text: str) -> list[str]:
    return textwrap.wrap(text.replace("-->", "→"), LINE_LENGTH) or [text]


def srt(found: list[Cue]) -> str:
    return "".join(f"{number}\n{_clock(c.start, ',')} --> {_clock(c.end, ',')}\n" + "\n".join(_lines(c.text)) + "\n\n"
                   for number, c in enumerate(found, 1))


def webvtt(found: list[Cue]) -> str:
    def escaped(line: str) -> str:
        return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    return "WEBVTT\n\n" + "".join(
        f"{c.shot}\n{_clock(c.start, '.')} --> {_clock(c.end, '.')}\n" + "\n".join(map(escaped, _lines(c.text))) + "\n\n"
        for c in found)


def render(spec: dict, voices: list[tuple[str, Path]], workdir: Path) -> Rendered:
    """`spec` is the score spec (the film's timing); `voices` each shot's (narration, voice-over
    file) in its timeline's order."""
    placements = [Placement(shot, start, frames, 0, 0, 0) for shot, start, frames in spec["timeline"]]
    found = cues(placements, voices, spec["fps"])
    srt_path, vtt_path = workdir / "subtitles.srt", workdir / "subtitles.vtt"
    srt_path.write_text(srt(found), encoding="utf-8")
    vtt_path.write_text(webvtt(found), encoding="utf-8")
    return {"subtitles": srt_path, "captions": vtt_path}, {
        "cues": len(found), "shots": [c.shot for c in found], "backend": "film_pipeline.stages.subtitles",
        "seed": spec["seed"], "duration_seconds": round(total_frames(placements) / spec["fps"], 3)}


def read_cues(path: Path) -> list[tuple[float, float, str]]:
    """An SRT or WebVTT file's cues as (start, end, text): what a player reads from it."""
    found, lines = [], Path(path).read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if "-->" in line:
            start, end = (_seconds(part.strip().split(" ")[0]) for part in line.split("-->"))
            text = []
            for following in lines[index + 1:]:
                if not following.strip():
                    break
                text.append(following)
            found.append((start, end, " ".join(text)))
    return found


def _seconds(clock: str) -> float:
    hours, minutes, rest = clock.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(rest)
