"""Keyframe interpolation: `end_prompt` gives a shot a last keyframe the clip moves to, and
`continues: true` starts a shot on the previous shot's last frame. What each edit re-renders,
and that the pictures do what the fields say."""

import numpy as np
import pytest
from PIL import Image

from film_pipeline.film import FilmError, load_film
from film_pipeline.media import read_video
from film_pipeline.render import render_film
from film_pipeline.planning import forced_steps
from film_pipeline_tests.conftest import MINI_FILM, edit_film, shot, write_film
from film_pipeline_tests.integration.test_incremental import EXPORT, FINAL, MOTION, VISUAL, chain
from film_pipeline_tests.integration.backends.test_ai_stages import metadata


def frames(path) -> list[np.ndarray]:
    return [f.astype(float) for f in read_video(path)]


def clip_frames(shot_id):
    return frames(metadata("clip", shot_id)["path"].value)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)


@pytest.fixture
def continuing(rendered):
    """The baseline film with shot b continuing from shot a, rendered."""
    edit_film(rendered, lambda d: shot(d, "b").__setitem__("continues", True))
    result = render_film(rendered)
    assert not result.failures and set(result.materialized) == chain("b", *MOTION) | FINAL | EXPORT
    return rendered


def test_a_continuing_shot_starts_on_the_previous_shots_last_frame(continuing):
    before, after = clip_frames("a")[-1], clip_frames("b")[0]
    assert psnr(before, after) > 30, "b's first frame is a's last (up to the video codec)"
    assert metadata("clip", "b")["continues_from"].value == "a"


def test_an_end_prompt_edit_re_renders_its_shot_the_shot_continuing_from_it_and_the_cut(continuing):
    edit_film(continuing, lambda d: shot(d, "a").__setitem__("end_prompt", "a city street at night"))
    result = render_film(continuing)
    assert not result.failures
    assert set(result.materialized) == chain("a", *VISUAL) | chain("b", *MOTION) | FINAL | EXPORT
    assert psnr(clip_frames("a")[-1], clip_frames("b")[0]) > 30, "b still starts where a now ends"
    assert render_film(continuing).materialized == [], "and then nothing is left to do"


def test_a_clip_with_an_end_keyframe_moves_from_the_first_picture_to_the_last(rendered):
    edit_film(rendered, lambda d: shot(d, "c").__setitem__("end_prompt", "a city street at night"))
    assert not render_film(rendered).failures
    board = metadata("storyboard", "c")
    assert board["end_prompt"].value == "a city street at night"
    first = np.asarray(Image.open(board["path"].value).convert("RGB"), float)
    end = np.asarray(Image.open(board["path"].value.replace(".png", ".end.png")).convert("RGB"), float)
    video = clip_frames("c")
    assert metadata("clip", "c")["ends_on"].value == "end keyframe"

    def colour_distance(frame, picture):  # the mean colour of a frame against a whole keyframe
        return float(np.abs(frame.reshape(-1, 3).mean(0) - picture.reshape(-1, 3).mean(0)).sum())

    assert colour_distance(video[0], first) < colour_distance(video[0], end)
    assert colour_distance(video[-1], end) < colour_distance(video[-1], first)


def test_forcing_a_clip_forces_the_clip_that_continues_from_it(tmp_path):
    text = MINI_FILM.replace("    camera: pan_left\n", "    camera: pan_left\n    continues: true\n")
    film = load_film(write_film(tmp_path, text))
    assert ("clip", "b") in forced_steps(film, ["clip[a]"]) and ("clip", "c") not in forced_steps(film, ["clip[a]"])


def test_the_first_shot_cannot_continue_and_end_prompt_must_say_something(tmp_path):
    text = MINI_FILM.replace("    prompt: a lighthouse at sunset\n", "    prompt: a lighthouse at sunset\n    continues: true\n")
    with pytest.raises(FilmError, match=r"film.yaml:\d+: shot `a` is the first shot: there is no shot before it"):
        load_film(write_film(tmp_path, text))
    text = MINI_FILM.replace("    prompt: the sea at dawn\n", "    prompt: the sea at dawn\n    end_prompt: ' '\n")
    with pytest.raises(FilmError, match="`end_prompt` in shot `c` is empty"):
        load_film(write_film(tmp_path, text, name="other"))
