"""The decode check decodes only what never decoded cleanly before: a cut after an edit has its
new GOPs decoded, found by the MP4's own index, and a damaged GOP is found wherever it sits."""

import numpy as np
import pytest

from film_pipeline import decoding
from film_pipeline.media import decode_stream, list_packets, run_ffmpeg, write_master
from film_pipeline.mp4_index import video_index

FPS, FRAMES = 8, 12  # each part one GOP: it starts with an IDR frame, as every part of a cut does


@pytest.fixture
def parts(home, tmp_path):
    made = {}
    for name, seed in (("a", 1), ("b", 2), ("c", 3), ("b2", 4)):
        rng = np.random.default_rng(seed)
        pictures = []
        for i in range(FRAMES):
            picture = np.full((36, 64, 3), 30 * seed, np.uint8)
            picture[:, i * 5:i * 5 + 6] = rng.integers(0, 255, 3)
            pictures.append(picture)
        made[name] = tmp_path / f"{name}.mp4"
        write_master(made[name], pictures, FPS, (64, 36))
    return made


def joined(parts: dict, names: list[str], out, sound=None):
    """The parts joined by stream copy, as the cut joins them (with a sound track, stream-copied)."""
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{parts[name]}'\n" for name in names))
    extra = ["-i", str(sound), "-map", "0:v", "-map", "1:a"] if sound else []
    run_ffmpeg("-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), *extra, "-c", "copy", str(out),
               check=True, capture_output=True)
    return out


def damaged(path, first: int, last: int):
    """A copy of a video-only MP4 with the slice data of packets first..last-1 garbled (their NAL
    lengths kept, so the file still lists: only decoding finds it)."""
    sizes = [int(line.split(b",")[4]) for line in list_packets(path).video_listing.splitlines()
             if line.strip() and not line.startswith(b"#")]
    data = bytearray(path.read_bytes())
    offset = data.find(b"mdat") + 4 + sum(sizes[:first])
    for size in sizes[first:last]:
        for i in range(offset + size // 2, offset + size):
            data[i] ^= 0x5A
        offset += size
    out = path.with_name(f"{path.stem}-damaged.mp4")
    out.write_bytes(data)
    return out


@pytest.fixture
def decodes(monkeypatch):
    """Every decode `read_film` asks for: (kind, start, frames)."""
    asked = []

    def recorded(path, kind, start=None, frames=None):
        asked.append((kind, None if start is None else round(start, 4), frames))
        return decode_stream(path, kind, start, frames)

    monkeypatch.setattr(decoding, "decode_stream", recorded)
    return asked


def test_the_index_gives_each_parts_first_frame_as_a_keyframe(parts, tmp_path):
    cut = joined(parts, ["a", "b", "c"], tmp_path / "cut.mp4")
    index = video_index(cut)
    assert (index.samples, index.sync) == (36, [0, 12, 24])
    assert video_index(parts["a"]).sync == [0]
    assert video_index(tmp_path / "cut.txt") is None  # not an MP4
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(cut.read_bytes()[:200])
    assert video_index(truncated) is None


def test_a_cut_after_an_edit_decodes_only_its_new_gop(parts, tmp_path, decodes):
    first = decoding.read_film(joined(parts, ["a", "b", "c"], tmp_path / "first.mp4"))
    assert first.errors == "" and first.video_packets == 36
    assert decodes == [("v", None, None)], "never seen: decoded whole, in one pass"
    decodes.clear()
    edited = decoding.read_film(joined(parts, ["a", "b2", "c"], tmp_path / "edited.mp4"))
    assert edited.errors == "" and edited.video_packets == 36
    assert decodes == [("v", round(FRAMES / FPS - 0.5 / FPS, 4), FRAMES)], "the new shot's GOP alone"
    decodes.clear()
    assert decoding.read_film(joined(parts, ["c", "b2", "a"], tmp_path / "reordered.mp4")).errors == ""
    assert decodes == [], "the same GOPs in another order: all decoded cleanly before"


@pytest.mark.parametrize("place", [0, 1, 2])
def test_a_damaged_gop_is_found_first_in_the_middle_or_last(parts, tmp_path, decodes, place):
    names = ["a", "b", "c"]
    assert decoding.read_film(joined(parts, names, tmp_path / "clean.mp4")).errors == ""
    order = names[:place] + ["b2"] + names[place:]  # the new GOP among GOPs known to decode
    cut = damaged(joined(parts, order, tmp_path / "cut.mp4"), place * FRAMES + 1, (place + 1) * FRAMES)
    decodes.clear()
    found = decoding.read_film(cut)
    assert found.errors and "decoding" in found.errors, found.errors
    assert [frames for _, _, frames in decodes] == [FRAMES]
    decodes.clear()
    assert decoding.read_film(cut).errors, "a damaged GOP is never remembered as decoded"
    assert len(decodes) == 1


def test_sound_that_decoded_cleanly_is_not_decoded_again_and_broken_sound_always_is(parts, tmp_path, decodes):
    sound, broken = tmp_path / "sound.aac", tmp_path / "broken.aac"
    run_ffmpeg("-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=4", "-c:a", "aac", str(sound), check=True,
               capture_output=True)
    garbled = bytearray(sound.read_bytes())
    for i in range(len(garbled) // 3, 2 * len(garbled) // 3, 7):  # the packets' payloads, not their headers
        garbled[i] ^= 0xFF
    broken.write_bytes(garbled)
    first = decoding.read_film(joined(parts, ["a", "b", "c"], tmp_path / "one.mp4", sound))
    second = decoding.read_film(joined(parts, ["a", "b2", "c"], tmp_path / "two.mp4", sound))
    assert (first.errors, second.errors) == ("", "") and first.audio_digest == second.audio_digest
    assert [kind for kind, _, _ in decodes].count("a") == 1, decodes
    for name in ("three", "four"):
        assert decoding.read_film(joined(parts, ["a", "b", "c"], tmp_path / f"{name}.mp4", broken)).errors
    assert [kind for kind, _, _ in decodes].count("a") == 3, "broken sound is decoded each time"


def test_a_file_without_an_index_is_decoded_whole_every_time(parts, tmp_path, decodes):
    cut = joined(parts, ["a", "b", "c"], tmp_path / "cut.mkv")  # Matroska: no MP4 index
    assert decoding.read_film(cut).errors == "" and decoding.read_film(cut).errors == ""
    assert decodes == [("v", None, None), ("v", None, None)]
