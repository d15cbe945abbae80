"""An MP4's own index of its first video track: how many samples it holds and which of them are
sync samples (keyframes, each an IDR frame as x264 writes them), read from the file's `moov` box
without decoding anything. ffmpeg's listings do not say which packet is a keyframe, and the
ffmpeg that imageio-ffmpeg ships comes without ffprobe.

The boxes read (ISO/IEC 14496-12): moov > trak > mdia > hdlr (the track's handler, `vide`) and
mdia > minf > stbl > stsz (the sample count) and stss (the sync samples; a track without one has
every sample a sync sample).
"""

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class VideoIndex:
    samples: int
    sync: list[int] | None  # 0-based sample numbers of the keyframes; None: every sample is one


def video_index(path: Path) -> VideoIndex | None:
    """The index of the file's first video track; None when the file is not an MP4 with one that
    this reads (a fragmented MP4, a truncated file, another container)."""
    try:
        moov = _top_level_box(path, b"moov")
        if moov is None:
            return None
        for kind, start, end in _boxes(moov, 0, len(moov)):
            if kind == b"trak" and (index := _track_index(moov, start, end)) is not None:
                return index
    except (OSError, ValueError, struct.error):
        return None
    return None


def _top_level_box(path: Path, wanted: bytes) -> bytes | None:
    """The payload of the first top-level box of kind `wanted`, the others skipped by seeking."""
    with open(path, "rb") as handle:
        while header := handle.read(8):
            if len(header) < 8:
                return None
            size, kind = struct.unpack(">I4s", header)
            header_size = 8
            if size == 1:
                size, header_size = struct.unpack(">Q", handle.read(8))[0], 16
            elif size == 0:  # the box runs to the end of the file
                return handle.read() if kind == wanted else None
            if size < header_size:
                raise ValueError(f"an MP4 box of {size} bytes")
            if kind == wanted:
                payload = handle.read(size - header_size)
                if len(payload) != size - header_size:
                    return None
                return payload
            handle.seek(size - header_size, 1)
    return None


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """The boxes inside data[start:end]: (kind, payload start, box end)."""
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, position)
        header_size = 8
        if size == 1:
            size, header_size = struct.unpack_from(">Q", data, position + 8)[0], 16
        elif size == 0:
            size = end - position
        if size < header_size or position + size > end:
            raise ValueError(f"an MP4 box of {size} bytes at {position}")
        yield kind, position + header_size, position + size
        position += size


def _child(data: bytes, start: int, end: int, wanted: bytes) -> tuple[int, int] | None:
    return next(((s, e) for kind, s, e in _boxes(data, start, end) if kind == wanted), None)


def _track_index(data: bytes, start: int, end: int) -> VideoIndex | None:
    mdia = _child(data, start, end, b"mdia")
    hdlr = mdia and _child(data, *mdia, b"hdlr")
    if hdlr is None or data[hdlr[0] + 8:hdlr[0] + 12] != b"vide":  # version and flags, pre_defined, handler
        return None
    minf = _child(data, *mdia, b"minf")
    stbl = minf and _child(data, *minf, b"stbl")
    stsz = stbl and _child(data, *stbl, b"stsz")
    if stsz is None:
        return None
    samples = struct.unpack_from(">I", data, stsz[0] + 8)[0]  # after version and flags, the sample size
    stss = _child(data, *stbl, b"stss")
    if stss is None:
        return VideoIndex(samples, None)
    count = struct.unpack_from(">I", data, stss[0] + 4)[0]
    if stss[0] + 8 + 4 * count > stss[1]:
        raise ValueError("an stss box shorter than its entry count")
    numbers = struct.unpack_from(f">{count}I", data, stss[0] + 8)
    return VideoIndex(samples, [number - 1 for number in numbers])
