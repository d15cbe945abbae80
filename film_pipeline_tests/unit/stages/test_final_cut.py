"""final_cut: the upscaled clips cut together over the soundtrack to the script's exact frame count,
H.264 + AAC, with a poster and a contact sheet."""

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from film_pipeline import edit
from film_pipeline.film import load_film
from film_pipeline.media import SAMPLE_RATE, probe, read_audio, read_video, write_master, write_wav
from film_pipeline.stages import final_cut, script
from film_pipeline.store import LocalStore
from film_pipeline.timeline import total_frames
from film_pipeline_tests.conftest import MINI_FILM, write_film
from film_pipeline_tests.unit.stages.pipeline import Pipeline

HARD_CUTS = MINI_FILM.replace("    transition: crossfade\n", "").replace("    transition: fade\n", "")


def cut_from_stages(root: Path) -> tuple[dict, dict, dict]:
    """The mini film through script, storyboard, clip, upscaled_clip, soundtrack and final_cut."""
    film = load_film(write_film(root))
    made = Pipeline(film, LocalStore(root / "store"), root, logging.getLogger("film_pipeline_tests.stages"))
    doc = script.read(made.script()[0]["script"])
    shots = [s["id"] for s in doc["film"]["shots"]]
    clips = [made.upscaled_clip(shot) for shot in shots]
    silence = root / "silence.wav"
    write_wav(silence, np.zeros(0, np.float32))
    sound, _ = made.soundtrack([silence] * len(shots))
    size = (clips[0][1]["width"], clips[0][1]["height"])
    keyframes = [(shot, Path(info["keyframe"])) for shot, (_, info) in zip(shots, clips)]
    files, info = final_cut.render(doc, [files["video"] for files, _ in clips], size, sound["audio"], keyframes,
                                   made.workdir("final_cut"))
    return doc, files, info


@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    return cut_from_stages(tmp_path_factory.mktemp("final_cut"))


def test_the_cut_has_exactly_the_scripts_frames(cut):
    doc, files, info = cut
    expected = total_frames(script.timeline(doc["film"]))
    assert expected == 24  # 8 + 12 + 8 frames, less the crossfade's 4
    assert probe(files["video"]).frames == expected == info["frames"] == info["expected_frames"]
    assert info["duration_seconds"] == 3.0 and info["shots"] == 3


def test_it_is_h264_with_aac_at_the_upscaled_size(cut):
    _, files, info = cut
    video = probe(files["video"])
    assert video.video_codec == "h264" and video.audio_codec == "aac"
    assert (video.width, video.height) == (128, 72) == (info["width"], info["height"])
    assert video.fps == 8


def test_the_sound_lasts_as_long_as_the_picture(cut):
    _, files, _ = cut
    seconds = len(read_audio(files["video"])) / SAMPLE_RATE
    assert seconds == pytest.approx(3.0, abs=0.05)


def test_poster_and_contact_sheet_are_written(cut):
    _, files, _ = cut
    assert set(files) == {"video", "poster", "contact_sheet"}
    assert Image.open(files["poster"]).size == (128, 72)
    sheet = Image.open(files["contact_sheet"])
    assert sheet.width == 3 * (240 + 6) + 6  # one 240 px tile per shot, in one row


def solid(colour, frames):
    return [np.full((72, 128, 3), colour, np.uint8)] * frames


def test_hard_cuts_put_each_clip_at_its_frames(pipeline_for, tmp_path):
    made = pipeline_for(HARD_CUTS)
    doc = script.read(made.script()[0]["script"])
    colours = {"a": (200, 30, 30), "b": (30, 200, 30), "c": (30, 30, 200)}
    clips, keyframes = [], []
    for shot, frames in (("a", 8), ("b", 12), ("c", 8)):
        clips.append(tmp_path / f"{shot}.mp4")
        write_master(clips[-1], solid(colours[shot], frames), 8, (128, 72))
        keyframes.append((shot, tmp_path / f"{shot}.png"))
        Image.fromarray(solid(colours[shot], 1)[0]).save(keyframes[-1][1])
    sound = tmp_path / "sound.wav"
    write_wav(sound, np.zeros((28 * SAMPLE_RATE // 8, 2), np.float32))
    work = tmp_path / "cut"
    work.mkdir()
    files, info = final_cut.render(doc, clips, (128, 72), sound, keyframes, work)
    frames = [f.astype(int) for f in read_video(files["video"])]
    assert len(frames) == info["frames"] == 28  # no overlaps
    for index, shot in [(8, "b"), (19, "b"), (20, "c"), (27, "c")]:  # the title lies over shot a
        assert np.abs(frames[index].mean(axis=(0, 1)) - colours[shot]).max() < 10, f"frame {index} is shot {shot}"
    assert np.abs(frames[7].mean(axis=(0, 1)) - colours["b"]).max() > 30, "shot b starts on frame 8, not before"


def test_a_long_films_contact_sheet_shows_a_hundred_shots_from_the_first_to_the_last():
    assert final_cut.sheet_shots(3) == [0, 1, 2]
    assert final_cut.sheet_shots(100) == list(range(100))
    shown = final_cut.sheet_shots(2_000)
    assert len(shown) == 100 and shown[0] == 0 and shown[-1] == 1_999 and shown == sorted(set(shown))
    gaps = {b - a for a, b in zip(shown, shown[1:])}
    assert gaps <= {20, 21}  # evenly spread


def test_a_contact_sheet_of_some_shots_numbers_them_by_their_place_in_the_film():
    tiles = [(f"s{n}", Image.new("RGB", (64, 36), (40 * n % 255, 90, 120))) for n in range(3)]
    numbered = edit.contact_sheet(tiles, numbers=[1, 21, 41])
    assert numbered.size == edit.contact_sheet(tiles).size
    assert numbered.tobytes() != edit.contact_sheet(tiles).tobytes()  # the labels differ


def test_a_kept_contact_sheet_is_copied_until_a_shot_it_shows_changes(tmp_path, monkeypatch):
    keyframes = []
    for n in range(150):  # more than a sheet shows: shot 1 is not on it, shot 0 is
        path = tmp_path / f"key{n}.png"
        Image.new("RGB", (64, 36), (n, 90, 120)).save(path)
        keyframes.append((f"s{n}", path))
    drawn, draw = [], edit.contact_sheet
    monkeypatch.setattr(edit, "contact_sheet", lambda *a, **k: drawn.append(1) or draw(*a, **k))
    cache, first, again = tmp_path / "cache", tmp_path / "first.png", tmp_path / "again.png"
    final_cut.write_contact_sheet(keyframes, first, cache)
    final_cut.write_contact_sheet(keyframes, again, cache)
    assert len(drawn) == 1 and again.read_bytes() == first.read_bytes()
    assert 1 not in final_cut.sheet_shots(150)
    unshown = tmp_path / "new1.png"
    Image.new("RGB", (64, 36), (255, 0, 0)).save(unshown)
    final_cut.write_contact_sheet([keyframes[0], ("s1", unshown), *keyframes[2:]], again, cache)
    assert len(drawn) == 1, "a shot the sheet does not show drew it again"
    shown = tmp_path / "new0.png"
    Image.new("RGB", (64, 36), (255, 0, 0)).save(shown)
    final_cut.write_contact_sheet([("s0", shown), *keyframes[1:]], again, cache)
    assert len(drawn) == 2 and again.read_bytes() != first.read_bytes()
    final_cut.write_contact_sheet([("renamed", keyframes[0][1]), *keyframes[1:]], again, cache)
    assert len(drawn) == 3, "a shot's new name is on the sheet"
