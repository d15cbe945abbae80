"""Whether a film decodes end to end, decoding only what has not decoded cleanly before.

A cut after an edit is the cut before with a few shots' pictures changed: its other packets are
the same bytes, stream-copied, and the same bytes decode the same. Decoding a feature's whole cut
again after each edit made the decode check O(film): 2,000 s of picture and sound at 2,000 shots,
minutes at full resolution. So `read_film`:

1. lists both streams' packets without decoding (`media.list_packets`: one read of the file);
2. splits the picture into GOPs at its keyframes (the MP4's own index, `mp4_index`): each starts
   with an IDR frame, which nothing before it is referred to from, so a GOP decodes the same in
   any cut that holds its packets. A GOP is known by a digest of its packets (duration, size and
   MD5 of each, in order; not their timestamps, which move with the GOP's place in the film), the
   stream's parameters and extradata, and the decoder's binary;
3. decodes the spans of GOPs never decoded cleanly before (each from its first keyframe, checking
   that every one of its frames came out), and the sound unless a stream with the same digest
   decoded cleanly before;
4. remembers what decoded cleanly, under FILM_HOME/cache/decoded (`home.KeptSet`).

Where the file has no index this reads, or the index and the listing disagree, the whole picture
is decoded, as before. A film never seen before is decoded whole, each stream in one pass.
"""

import hashlib
import re
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from film_pipeline.home import KeptSet, film_home
from film_pipeline.media import Pass, decode_stream, ffmpeg_identity, list_packets, packet_lines
from film_pipeline.mp4_index import video_index

DECODE_VERSION = 1  # part of every digest kept: bump it when what counts as decoding cleanly changes


def read_film(path: Path) -> Pass:
    """The film's packet listings, with the errors of decoding what had to be decoded ("" if none)."""
    listed = list_packets(path)
    decoded = KeptSet(film_home() / "cache" / "decoded")
    errors = [listed.errors]
    if listed.video_listing is not None:
        errors += _decode_picture(path, listed.video_listing, decoded)
    if listed.audio_digest is not None:
        errors.append(_decode_sound(path, listed.audio_digest, decoded))
    return replace(listed, errors="\n".join(error for error in errors if error))


@dataclass(frozen=True)
class Listing:
    """A framemd5 listing of one stream: its parameter lines and its packets' lines, in order."""

    parameters: bytes
    packets: list[bytes]

    @classmethod
    def parse(cls, listing: bytes) -> "Listing":
        parameters = b"\n".join(line for line in listing.splitlines()
                                if line.startswith(b"#") and not line.startswith(b"#software"))
        return cls(parameters, packet_lines(listing))

    def seconds(self, packet: int) -> tuple[float, float]:
        """A packet's presentation time and duration, in seconds."""
        time_base = Fraction(next(line for line in self.parameters.splitlines() if line.startswith(b"#tb "))
                             .split(b":")[1].strip().decode())
        fields = [field.strip() for field in self.packets[packet].split(b",")]
        return float(int(fields[2]) * time_base), float(int(fields[3]) * time_base)

    def gop_digests(self, gops: list[tuple[int, int]]) -> list[str]:
        """Each GOP's digest: its packets' lines without their stream index and timestamps (the
        duration, size, MD5 and side data left), after the stream's parameters and the decoder's binary."""
        untimed = _TIMESTAMPS.sub(b"", b"\n".join(self.packets)).split(b"\n")  # one pass in C, not 21,000 splits
        head = f"picture|{DECODE_VERSION}|{ffmpeg_identity()}|".encode() + self.parameters
        return [hashlib.sha256(head + b"\n" + b"\n".join(untimed[start:end])).hexdigest()[:32] for start, end in gops]


_TIMESTAMPS = re.compile(rb"^[^,]*,[^,]*,[^,]*,", re.MULTILINE)  # stream index, dts, pts


def _decode_picture(path: Path, listing: bytes, decoded: KeptSet) -> list[str]:
    stream = Listing.parse(listing)
    gops = _gops(path, len(stream.packets))
    if gops is None:  # nothing to split it by: all of it, and nothing remembered
        return [decode_stream(path, "v")[0]]
    digests = stream.gop_digests(gops)
    errors = []
    for first, last in _spans([digest not in decoded for digest in digests]):
        start, end = gops[first][0], gops[last][1]
        error = _decode_span(path, stream, start, end)
        if error:
            errors.append(error)
        else:
            for digest in digests[first:last + 1]:
                decoded.add(digest)
    return errors


def _gops(path: Path, packets: int) -> list[tuple[int, int]] | None:
    """The picture's GOPs as (first packet, packet after the last), from the file's index; None
    where the index is missing, says nothing (every frame a keyframe), or disagrees with the listing."""
    index = video_index(path)
    if index is None or index.sync is None or index.samples != packets or not index.sync or index.sync[0] != 0:
        return None
    bounds = [*index.sync, packets]
    return [(start, end) for start, end in zip(bounds, bounds[1:]) if end > start]


def _spans(unknown: list[bool]) -> list[tuple[int, int]]:
    """The runs of True in `unknown`, as (first, last) indices."""
    spans, first = [], None
    for number, flag in enumerate([*unknown, False]):
        if flag and first is None:
            first = number
        elif not flag and first is not None:
            spans.append((first, number - 1))
            first = None
    return spans


def _decode_span(path: Path, stream: Listing, start: int, end: int) -> str:
    """Decode packets start..end-1 of the picture (all of them: in one pass, no seeking); the
    errors, or a short count, or ""."""
    if (start, end) == (0, len(stream.packets)):
        return decode_stream(path, "v")[0]
    shown, duration = stream.seconds(start)  # an IDR frame comes first of its GOP in time too
    frames = end - start
    # half a frame early: ffmpeg seeks to the keyframe at or before it, and lets out every frame from this one on
    errors, came_out = decode_stream(path, "v", start=max(0.0, shown - duration / 2), frames=frames)
    if errors:
        return errors
    if came_out < frames:
        return f"only {came_out} of the {frames} frames from {shown:.3f}s decoded"
    return ""


def _decode_sound(path: Path, digest: str, decoded: KeptSet) -> str:
    kept = hashlib.sha256(f"sound|{DECODE_VERSION}|{ffmpeg_identity()}|{digest}".encode()).hexdigest()[:32]
    if kept in decoded:
        return ""
    errors = decode_stream(path, "a")[0]
    if not errors:
        decoded.add(kept)
    return errors
