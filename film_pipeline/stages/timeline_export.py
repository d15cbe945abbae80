"""timeline_export: the cut as an editor's timeline, in OpenTimelineIO, CMX 3600 EDL, FCP 7 XML and
Kdenlive (film_pipeline.exports), every clip referring to the stored files the cut is made of.

The media references are the files as the machine that renders has them (`store.local_path`: the
store's own files, or for an S3 store its local cache); `film export` writes them for the machine
it runs on.
"""

from pathlib import Path

from film_pipeline import exports
from film_pipeline.edit import title_frames, voice_start
from film_pipeline.media import SAMPLE_RATE, audio_frames
from film_pipeline.stages import Rendered
from film_pipeline.timeline import Placement


def cut_of(script: dict, clips: list[tuple[exports.Media, str]], voices: list[exports.Media | None],
           score: exports.Media, title: exports.Media | None, size: tuple[int, int]) -> exports.Cut:
    """The export's view of the cut: `clips` each shot's (upscaled clip, its version) and `voices`
    its voice-over (None where it has none), in the script's order."""
    film = script["film"]
    placements = [Placement(**p) for p in script["timeline"]]
    fps = film["fps"]
    shots, starts = [], {}
    for placement, spec, (video, version), voice in zip(placements, film["shots"], clips, voices):
        samples = audio_frames(voice.path) if voice is not None else 0
        starts[placement.shot_id] = voice_start(placement, fps, SAMPLE_RATE)
        shots.append(exports.Shot(placement, spec["prompt"], version, video, voice if samples else None, samples,
                                  spec.get("narration") or ""))
    return exports.Cut(film["title"], fps, size, shots, score, title, title_frames(placements, fps) if title else 0,
                       SAMPLE_RATE, starts)


def render(cut: exports.Cut, workdir: Path) -> Rendered:
    timeline = exports.build_timeline(cut)
    formats = exports.formats_for(cut.fps)
    files = {fmt: exports.write(timeline, fmt, workdir / f"timeline{exports.FORMATS[fmt][0]}") for fmt in formats}
    return files, {
        "frames": cut.frames, "fps": cut.fps, "duration_seconds": round(cut.frames / cut.fps, 3),
        "shots": len(cut.shots), "voice_overs": sum(1 for s in cut.shots if s.voice is not None),
        "tracks": exports.summary(timeline), "formats": ", ".join(formats),
        **({} if len(formats) == len(exports.FORMATS) else
           {"not_written": f"EDL and FCP 7 XML need a SMPTE timecode rate (24, 25, 30, 48, 50, 60 fps), not {cut.fps}"}),
        "backend": "opentimelineio + otio-cmx3600-adapter + otio-fcp-adapter; Kdenlive: film_pipeline.exports.kdenlive",
        "seed": 0}
