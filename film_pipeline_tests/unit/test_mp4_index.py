"""The sound track's digest read from an MP4's own index (mp4_index.sound_digest, which the cut's
checks use in place of listing every AAC packet through ffmpeg): the samples it reads are the
packets ffmpeg reads, the same sound muxed anywhere has the same digest, any change to it another,
and a file it cannot read whole is listed by ffmpeg as before (real ffmpeg)."""

from pathlib import Path

from film_pipeline import mp4_index
from film_pipeline.media import list_packets, run_ffmpeg

SECONDS = 3


def sound(path: Path, frequency: int = 440) -> Path:
    run_ffmpeg("-v", "error", "-y", "-f", "lavfi", "-i", f"sine=f={frequency}:d={SECONDS}:sample_rate=48000",
               "-ac", "2", "-c:a", "aac", "-b:a", "128k", str(path), check=True, capture_output=True)
    return path


def film(path: Path, audio: Path, picture: str = "testsrc", *options: str) -> Path:
    run_ffmpeg("-v", "error", "-y", "-f", "lavfi", "-i", f"{picture}=s=64x36:r=8:d={SECONDS}", "-i", str(audio),
               "-map", "0:v:0", "-map", "1:a:0", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy",
               *options, str(path), check=True, capture_output=True)
    return path


def sound_chunks(path: Path) -> list[tuple[int, int]]:
    """(offset, length) of each chunk of the file's sound track, as sound_digest reads them."""
    moov = mp4_index._top_level_box(path, b"moov")
    track = next(t for t in mp4_index._tracks(moov) if mp4_index._handler(moov, *t) == b"soun")
    return list(mp4_index._chunks(moov, mp4_index._stbl(moov, mp4_index._child(moov, *track, b"mdia"))))


def samples_read(path: Path) -> bytes:
    data = path.read_bytes()
    return b"".join(data[offset:offset + length] for offset, length in sound_chunks(path))


def test_the_samples_read_are_the_packets_ffmpeg_reads(tmp_path):
    for name, options in (("interleaved.mp4", ()), ("index_first.mp4", ("-movflags", "+faststart"))):
        cut = film(tmp_path / name, sound(tmp_path / "sound.m4a"), "testsrc", *options)
        packets = tmp_path / f"{name}.raw"
        run_ffmpeg("-v", "error", "-y", "-i", str(cut), "-map", "0:a:0", "-c", "copy", "-f", "data", str(packets),
                   check=True, capture_output=True)
        assert samples_read(cut) == packets.read_bytes(), name
        assert len({length for _, length in sound_chunks(cut)}) > 2, "chunks of one or two sizes: stsc's runs untried"


def test_the_same_sound_anywhere_has_one_digest_and_any_change_another(tmp_path):
    audio = sound(tmp_path / "sound.m4a")
    first = film(tmp_path / "first.mp4", audio)
    moved = film(tmp_path / "moved.mp4", audio, "smptebars", "-movflags", "+faststart")
    assert mp4_index.sound_digest(first) == mp4_index.sound_digest(moved) is not None
    assert list_packets(moved).audio_listing is None, "ffmpeg listed the audio the index gave"
    assert list_packets(moved).audio_digest == mp4_index.sound_digest(first)
    other = film(tmp_path / "other.mp4", sound(tmp_path / "other.m4a", 660))
    shorter = film(tmp_path / "shorter.mp4", audio, "testsrc", "-t", str(SECONDS - 1))
    data = bytearray(first.read_bytes())
    flipped_at = samples_read(first)[len(samples_read(first)) // 2:][:64]
    at = bytes(data).index(flipped_at)
    data[at + 10] ^= 0x01  # one bit of one AAC packet's payload, the file's layout untouched
    (tmp_path / "flipped.mp4").write_bytes(bytes(data))
    digests = {mp4_index.sound_digest(path) for path in (first, other, shorter, tmp_path / "flipped.mp4")}
    assert len(digests) == 4 and None not in digests


def test_a_file_it_cannot_read_whole_is_listed_by_ffmpeg(tmp_path):
    cut = film(tmp_path / "cut.mp4", sound(tmp_path / "sound.m4a"), "testsrc", "-movflags", "+faststart")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(cut.read_bytes()[:-2000])  # the last samples are gone; the index still names them
    assert mp4_index.sound_digest(truncated) is None
    listed = list_packets(truncated)
    assert listed.audio_listing is not None and listed.indexed_sound_digest is None
    assert listed.errors, "the demuxer's word on the truncated file is lost"
    no_sound = tmp_path / "picture.mp4"
    run_ffmpeg("-v", "error", "-y", "-i", str(cut), "-map", "0:v:0", "-c", "copy", str(no_sound), check=True)
    assert mp4_index.sound_digest(no_sound) is None and list_packets(no_sound).audio_digest is None
    assert mp4_index.sound_digest(tmp_path / "sound.m4a") is not None
