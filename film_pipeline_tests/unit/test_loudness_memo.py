"""The loudness check keeps the meter's reading by the digest of the cut's audio stream: a cut whose
picture alone changed (the same AAC packets, stream-copied) is not measured again, a cut whose
sound changed in any way is, and what the check reports is what the meter reads (real ffmpeg)."""

from pathlib import Path

import pytest

from film_pipeline import checks
from film_pipeline.checks import loudness_on_target, meter_reading
from film_pipeline.media import ebur128, list_packets, run_ffmpeg

SECONDS = 3


def audio_digest(path: Path) -> str:
    return list_packets(path).audio_digest


def encode_sound(path: Path, frequency: int, volume: float = 0.3) -> Path:
    run_ffmpeg("-v", "error", "-y", "-f", "lavfi", "-i", f"sine=f={frequency}:d={SECONDS}:sample_rate=48000",
               "-af", f"volume={volume}", "-ac", "2", "-c:a", "aac", "-b:a", "128k", str(path), check=True)
    return path


def cut_with(path: Path, sound: Path, picture: str, extra: tuple[str, ...] = ()) -> Path:
    """A cut as edit.assemble makes one: new picture, the AAC stream-copied in."""
    run_ffmpeg("-v", "error", "-y", "-f", "lavfi", "-i", f"{picture}=s=64x36:r=8:d={SECONDS}", "-i", str(sound),
               "-map", "0:v:0", "-map", "1:a:0", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy",
               *extra, "-movflags", "+faststart", str(path), check=True)
    return path


@pytest.fixture
def meter_calls(monkeypatch):
    """The real meter, counted."""
    calls = []

    def counted(path):
        calls.append(Path(path).name)
        return ebur128(path)

    monkeypatch.setattr(checks, "ebur128", counted)
    return calls


def test_a_new_picture_over_the_same_sound_is_not_measured_again(tmp_path, meter_calls):
    sound = encode_sound(tmp_path / "sound.m4a", 440)
    first = cut_with(tmp_path / "first.mp4", sound, "testsrc")
    new_picture = cut_with(tmp_path / "new_picture.mp4", sound, "smptebars")
    assert first.read_bytes() != new_picture.read_bytes()
    assert audio_digest(first) == audio_digest(new_picture)
    memo = tmp_path / "memo"
    reading = meter_reading(first, memo)
    assert reading == ebur128(first) and meter_calls == ["first.mp4"]
    assert meter_reading(new_picture, memo) == reading
    assert meter_calls == ["first.mp4"], "the same audio packets were measured again"
    assert loudness_on_target(new_picture, round(reading.integrated), 0.0, memo=memo).metadata == \
        loudness_on_target(new_picture, round(reading.integrated), 0.0).metadata


@pytest.mark.parametrize("change", ["louder", "another tone", "shorter"])
def test_a_cut_whose_sound_changed_is_measured_afresh(tmp_path, meter_calls, change):
    sound = encode_sound(tmp_path / "sound.m4a", 440)
    first = cut_with(tmp_path / "first.mp4", sound, "testsrc")
    if change == "shorter":  # the same packets, fewer of them: an edit that shortened the film
        changed = cut_with(tmp_path / "changed.mp4", sound, "testsrc", ("-t", f"{SECONDS - 1}"))
    else:
        other = encode_sound(tmp_path / "other.m4a", *((440, 0.6) if change == "louder" else (660, 0.3)))
        changed = cut_with(tmp_path / "changed.mp4", other, "testsrc")
    assert audio_digest(first) != audio_digest(changed)
    memo = tmp_path / "memo"
    meter_reading(first, memo)
    assert meter_reading(changed, memo) == ebur128(changed)
    assert meter_calls == ["first.mp4", "changed.mp4"]


def test_a_damaged_reading_is_measured_again_and_a_file_without_sound_is_an_error(tmp_path, meter_calls):
    first = cut_with(tmp_path / "first.mp4", encode_sound(tmp_path / "sound.m4a", 440), "testsrc")
    memo = tmp_path / "memo"
    reading = meter_reading(first, memo)
    [kept] = memo.glob("*.json")
    kept.write_text("{\"integrated\": ")  # a reading cut short
    assert meter_reading(first, memo) == reading and len(meter_calls) == 2
    assert list(memo.iterdir()) == [kept], "a partial file was left behind"
    blocked = tmp_path / "not_a_folder"
    blocked.write_text("a file where the cache would go")
    assert meter_reading(first, blocked) == reading, "a cache that cannot be written is only a cache"
    silent = tmp_path / "picture_only.mp4"
    run_ffmpeg("-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=64x36:r=8:d=1", "-c:v", "libx264", str(silent),
               check=True)
    with pytest.raises(RuntimeError, match="could not measure the loudness of .*picture_only.mp4"):
        meter_reading(silent, memo)
