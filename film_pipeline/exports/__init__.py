"""The cut as an editor's timeline: one OpenTimelineIO timeline, written as OTIO, CMX 3600 EDL,
FCP 7 XML and Kdenlive.

`build_timeline` lays the cut out exactly as `edit.assemble` and `edit.mix` do:

- "Picture": one video track, each shot a clip of its upscaled clip file. A crossfade is a
  Transition (SMPTE dissolve) centred on the cut, its overlap taken from the clips' handles. A
  fade to black is a dissolve to black inside the shot's last frames (a Transition into an empty
  Gap), and a fade from black one out of it over the next shot's first frames; the track's
  length is the cut's, frame for frame.
- "Title": the title card over the opening shot, a short clip with alpha that dissolves in and
  out as the cut's title does.
- "Voice-over": each shot's voice-over where the mix lays it (sample-exact in OTIO; on the
  nearest frame in the frame-based formats); "Score": the score stem under them.
- Markers on each shot's clip: its id, prompt and version (the upscaled clip's data version).

Each clip's metadata names the store key and sha256 of its file, so `film export` can point the
timeline at the files as this machine has them (`localize`, `store.local_path`). What each
format keeps of it is in README.md ("Deliverables").
"""

import copy
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from film_pipeline.timeline import Placement, total_frames

NAMESPACE = "film_pipeline"
# format -> (file suffix, what it is)
FORMATS = {
    "otio": (".otio", "OpenTimelineIO"),
    "edl": (".edl", "CMX 3600 EDL"),
    "fcp7": (".xml", "Final Cut Pro 7 XML"),
    "kdenlive": (".kdenlive", "Kdenlive project (MLT XML)"),
}
PICTURE, TITLE, VOICE, SCORE = "Picture", "Title", "Voice-over", "Score"
TIMECODE_FORMATS = ("edl", "fcp7")  # they time everything in SMPTE timecode


class ExportError(ValueError):
    """A format that cannot carry this film (EDL and FCP 7 XML need a timecode frame rate)."""


def formats_for(fps: int) -> list[str]:
    """The formats a film at `fps` can be written in: all four at a SMPTE timecode rate (24, 25,
    30, 48, 50, 60 fps), OTIO and Kdenlive at any rate."""
    timecode = otio.opentime.RationalTime.is_valid_timecode_rate(fps)
    return [fmt for fmt in FORMATS if timecode or fmt not in TIMECODE_FORMATS]


def check_format(fmt: str, fps: int) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format `{fmt}`; use one of {', '.join(FORMATS)}")
    if fmt not in formats_for(fps):
        raise ExportError(f"{FORMATS[fmt][1]} times everything in SMPTE timecode, which has no {fps} fps; "
                          f"it needs 24, 25, 30, 48, 50 or 60 fps (set `fps:` in film.yaml), or export to otio or kdenlive")


@dataclass(frozen=True)
class Media:
    """A file a timeline refers to: where it is on this machine, and its key and sha256 in the store."""
    path: Path
    key: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class Shot:
    placement: Placement
    prompt: str
    version: str   # the upscaled clip's data version
    video: Media   # the upscaled clip
    voice: Media | None = None   # the voice-over, where the shot is narrated
    voice_samples: int = 0
    narration: str = ""


@dataclass
class Cut:
    """What the timeline is built from: the script's timing and the files the cut is made of."""
    title: str
    fps: int
    size: tuple[int, int]
    shots: list[Shot]
    score: Media
    title_clip: Media | None = None
    title_frames: int = 0
    sample_rate: int = 48_000
    voice_starts: dict[str, int] = field(default_factory=dict)  # shot -> first sample of its voice-over

    @property
    def frames(self) -> int:
        return total_frames([s.placement for s in self.shots])


def file_url(path: Path) -> str:
    return Path(path).absolute().as_uri()


def url_path(url: str) -> Path:
    """The local path of a media reference's URL (a file:// URL, or a plain path)."""
    return Path(unquote(urlparse(url).path)) if url.startswith("file:") else Path(url)


def _time(value: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(value, rate)


def _range(start: float, duration: float, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_time(start, rate), _time(duration, rate))


def _reference(media: Media, available: otio.opentime.TimeRange) -> otio.schema.ExternalReference:
    reference = otio.schema.ExternalReference(target_url=file_url(media.path), available_range=available)
    reference.metadata[NAMESPACE] = {"key": media.key, "sha256": media.sha256}
    return reference


def _dissolve(in_offset: int, out_offset: int, fps: int, name: str, alignment: str | None = None) -> otio.schema.Transition:
    transition = otio.schema.Transition(name=name, transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                                        in_offset=_time(in_offset, fps), out_offset=_time(out_offset, fps))
    if alignment:  # FCP 7 XML says where the dissolve sits against the cut
        transition.metadata["fcp_xml"] = {"alignment": alignment}
    return transition


def crossfade_split(overlap: int) -> tuple[int, int]:
    """(frames of a crossfade before the cut, after it): centred, the cut in its middle."""
    before = overlap // 2
    return before, overlap - before


def build_timeline(cut: Cut, audio_rate: int | None = None) -> otio.schema.Timeline:
    """The cut as a timeline. `audio_rate`: the rate audio items are timed in, the sample rate
    (the default) for a sample-exact OTIO file, the frame rate for the frame-based formats."""
    fps, placements = cut.fps, [s.placement for s in cut.shots]
    timeline = otio.schema.Timeline(name=cut.title, global_start_time=_time(0, fps))
    timeline.metadata[NAMESPACE] = {"fps": fps, "width": cut.size[0], "height": cut.size[1], "frames": cut.frames}
    timeline.tracks.append(_picture_track(cut))
    if cut.title_clip is not None and cut.title_frames:
        title = otio.schema.Track(name=TITLE, kind=otio.schema.TrackKind.Video)
        clip = otio.schema.Clip(name="title", source_range=_range(0, cut.title_frames, fps),
                                media_reference=_reference(cut.title_clip, _range(0, cut.title_frames, fps)))
        clip.metadata[NAMESPACE] = {"role": "title", "note": "the title card with alpha, dissolving in and out as in the cut"}
        title.append(clip)
        timeline.tracks.append(title)
    timeline.tracks.extend(_voice_tracks(cut, audio_rate or cut.sample_rate))
    score = otio.schema.Track(name=SCORE, kind=otio.schema.TrackKind.Audio)
    whole = _range(0, total_frames(placements), fps)
    clip = otio.schema.Clip(name="score", source_range=whole, media_reference=_reference(cut.score, whole))
    clip.metadata[NAMESPACE] = {"role": "score", "note": "the score as mixed: ducked under the voice-overs"}
    score.append(clip)
    timeline.tracks.append(score)
    return timeline


def _picture_track(cut: Cut) -> otio.schema.Track:
    fps, shots = cut.fps, cut.shots
    track = otio.schema.Track(name=PICTURE, kind=otio.schema.TrackKind.Video)
    for index, shot in enumerate(shots):
        p = shot.placement
        following = shots[index + 1].placement if index + 1 < len(shots) else None
        head = crossfade_split(p.crossfade_in)[0] if p.crossfade_in else 0
        tail = crossfade_split(following.crossfade_in)[1] if following is not None and following.crossfade_in else 0
        clip = otio.schema.Clip(name=p.shot_id, source_range=_range(head, p.frames - head - tail, fps),
                                media_reference=_reference(shot.video, _range(0, p.frames, fps)))
        clip.metadata[NAMESPACE] = {"shot": p.shot_id, "prompt": shot.prompt, "version": shot.version,
                                    "start_frame": p.start, "frames": p.frames, "fade_in": p.fade_in,
                                    "fade_out": p.fade_out, "crossfade_in": p.crossfade_in}
        clip.markers.append(otio.schema.Marker(
            name=f"{p.shot_id}: {shot.prompt} [{shot.version}]", marked_range=_range(head, 0, fps),
            color=otio.schema.MarkerColor.CYAN,
            metadata={NAMESPACE: {"shot": p.shot_id, "prompt": shot.prompt, "version": shot.version}}))
        if p.fade_in:  # out of black, over the shot's first frames
            track.append(_dissolve(0, p.fade_in, fps, "fade from black"))
        track.append(clip)
        if following is not None and following.crossfade_in:
            before, after = crossfade_split(following.crossfade_in)
            alignment = "start" if before == 0 else "end" if after == 0 else "center"
            track.append(_dissolve(before, after, fps, "crossfade", alignment))
        elif p.fade_out:  # to black, inside the shot's last frames; black is an empty gap
            track.append(_dissolve(p.fade_out, 0, fps, "fade to black"))
            # (starting where the dissolve ends, as an EDL's black reel `BL` is timed from it)
            track.append(otio.schema.Gap(source_range=_range(p.fade_out, 0, fps)))
    return track


def _voice_tracks(cut: Cut, rate: int) -> list[otio.schema.Track]:
    """The voice-overs where the mix lays them; two that overlap go on separate tracks."""
    film_end = cut.frames * rate / cut.fps
    tracks: list[tuple[otio.schema.Track, float]] = []  # (track, where it ends)
    for shot in cut.shots:
        if shot.voice is None or not shot.voice_samples:
            continue
        first = cut.voice_starts[shot.placement.shot_id]
        if rate == cut.sample_rate:
            start, length, available = first, shot.voice_samples, shot.voice_samples
        else:  # a frame-based format: the nearest frame, the voice's length rounded up to whole frames
            start = round(first * rate / cut.sample_rate)
            length = available = math.ceil(shot.voice_samples * rate / cut.sample_rate)
        length = min(length, film_end - start)
        if length <= 0:
            continue
        track = next((t for t, end in tracks if end <= start), None)
        if track is None:
            track = otio.schema.Track(name=VOICE if not tracks else f"{VOICE} {len(tracks) + 1}",
                                      kind=otio.schema.TrackKind.Audio)
            tracks.append((track, 0))
        end = dict((id(t), e) for t, e in tracks)[id(track)]
        if start > end:
            track.append(otio.schema.Gap(source_range=_range(0, start - end, rate)))
        clip = otio.schema.Clip(name=f"{shot.placement.shot_id} voice-over", source_range=_range(0, length, rate),
                                media_reference=_reference(shot.voice, _range(0, available, rate)))
        clip.metadata[NAMESPACE] = {"shot": shot.placement.shot_id, "narration": shot.narration, "role": "voice-over",
                                    "start_seconds": round(first / cut.sample_rate, 6)}
        track.append(clip)
        tracks = [(t, start + length if t is track else e) for t, e in tracks]
    return [t for t, _ in tracks]


def localize(timeline: otio.schema.Timeline, local_path) -> otio.schema.Timeline:
    """A copy whose media references point at `local_path(key, sha256)`: the stored files as this
    machine has them (an S3 store's are fetched into the local cache first)."""
    timeline = copy.deepcopy(timeline)
    for clip in timeline.find_clips():
        reference = clip.media_reference
        stored = reference.metadata.get(NAMESPACE, {}) if isinstance(reference, otio.schema.ExternalReference) else {}
        if stored.get("key"):
            reference.target_url = file_url(local_path(stored["key"], stored["sha256"] or None))
    return timeline


def frame_based(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """The timeline with its audio on whole frames, as the frame-based formats (EDL, FCP 7, MLT)
    time it: each sound starts on the nearest frame and lasts its length rounded up to frames."""
    fps, frames = timeline.metadata[NAMESPACE]["fps"], timeline.metadata[NAMESPACE]["frames"]
    timeline = copy.deepcopy(timeline)
    for track in timeline.tracks:
        if track.kind != otio.schema.TrackKind.Audio:
            continue
        placed, ranges = [], track.range_of_all_children()  # at once: one by one, each adds up all before it
        for clip in track.find_clips():
            where = ranges[clip]
            start = round(where.start_time.to_seconds() * fps)
            length = min(math.ceil(where.duration.to_seconds() * fps - 1e-6), frames - start)
            placed.append((start, length, copy.deepcopy(clip)))
        del track[:]
        position = 0
        for start, length, clip in placed:
            start = max(start, position)
            if start > position:
                track.append(otio.schema.Gap(source_range=_range(0, start - position, fps)))
            clip.source_range = _range(round(clip.source_range.start_time.to_seconds() * fps), length, fps)
            available = clip.media_reference.available_range
            clip.media_reference.available_range = _range(0, math.ceil(available.duration.to_seconds() * fps - 1e-6), fps)
            track.append(clip)
            position = start + length
    return timeline


def write(timeline: otio.schema.Timeline, fmt: str, path: Path) -> Path:
    """Write the timeline (from `build_timeline`, sample-exact) as `fmt` to `path`."""
    path = Path(path)
    check_format(fmt, timeline.metadata[NAMESPACE]["fps"])
    if fmt == "otio":
        otio.adapters.write_to_file(timeline, str(path), adapter_name="otio_json")
    elif fmt == "edl":
        path.write_text(_edl(frame_based(timeline)))
    elif fmt == "fcp7":
        otio.adapters.write_to_file(frame_based(timeline), str(path), adapter_name="fcp_xml")
    elif fmt == "kdenlive":
        from film_pipeline.exports.kdenlive import write_kdenlive

        write_kdenlive(frame_based(timeline), path)
    return path


def _edl(timeline: otio.schema.Timeline) -> str:
    """CMX 3600 carries one picture track (and no sound): the shots, their dissolves and fades to
    black (`BL`), and each shot's marker as a LOC comment."""
    edl = copy.deepcopy(timeline)
    for track in edl.tracks:
        track.enabled = track.name == PICTURE
    return otio.adapters.write_to_string(edl, adapter_name="cmx_3600", rate=timeline.metadata[NAMESPACE]["fps"])


def read(path: Path) -> otio.schema.Timeline:
    return otio.adapters.read_from_file(str(path), adapter_name="otio_json")


def summary(timeline: otio.schema.Timeline) -> str:
    """One line per track: what an editor will find (the export's metadata in the UI)."""
    return json.dumps({t.name: len(t.find_clips()) for t in timeline.tracks})
