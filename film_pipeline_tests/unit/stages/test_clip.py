"""clip: the picked keyframe animated for exactly the shot's frames, with a still, a preview and
alternative clip takes; `picked_take` refuses a take the storyboard does not have."""

import numpy as np
import pytest
from PIL import Image

from film_pipeline.media import probe, read_video
from film_pipeline.stages import clip
from film_pipeline_tests.conftest import MINI_FILM

TWO_CLIP_TAKES = MINI_FILM.replace("    takes: 2\n", "    takes: 2\n    clip_takes: 2\n")


def test_the_clip_has_exactly_the_specs_frames_at_the_film_size(pipeline):
    spec = pipeline.spec("motion_spec", "b")
    assert spec["frames"] == 12  # 1.5 s at 8 fps
    files, info = pipeline.clip("b")
    frames = list(read_video(files["video"]))
    assert len(frames) == spec["frames"] == info["frames"] == info["expected_frames"]
    assert frames[0].shape == (36, 64, 3)
    assert info["duration_seconds"] == 1.5 and info["fps"] == 8 and info["camera"] == "pan_left"


def test_a_pan_moves_the_picture(pipeline):
    frames = [f.astype(int) for f in read_video(pipeline.clip("b")[0]["video"])]
    assert np.abs(frames[0] - frames[-1]).mean() > 2


def test_the_still_is_the_middle_frame_and_the_preview_is_animated(pipeline):
    files, _ = pipeline.clip("b")
    frames = list(read_video(files["video"]))
    assert np.array_equal(np.asarray(Image.open(files["frame"])), frames[6])
    preview = Image.open(files["preview"])
    assert preview.format == "WEBP" and preview.n_frames == 12 and preview.width == 160


def test_it_starts_from_the_storyboards_best_take(pipeline):
    board_files, board_info = pipeline.storyboard("b")
    _, info = pipeline.clip("b")
    assert info["pick"] == board_info["best_take"]
    assert info["keyframe"] == str(board_files[f"take{board_info['best_take']}"])
    assert info["seed"] == board_info["seed"]


def test_one_clip_take_writes_no_alternatives(pipeline, caplog):
    files, info = pipeline.clip("a")
    assert set(files) == {"video", "frame", "preview"}
    assert info["clip_takes"] == 1 and info["clip_take"] == 1
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("clip[a]")] == [
        f"clip[a] take 1: score {info['clip_scores']['1']['total']:.3f}"]


def test_two_clip_takes_keep_the_one_not_chosen(pipeline_for, caplog):
    files, info = pipeline_for(TWO_CLIP_TAKES).clip("b")
    chosen, other = info["clip_take"], 3 - info["clip_take"]
    assert info["clip_takes"] == 2 and chosen == info["clip_best"]
    assert set(files) == {"video", "frame", "preview", f"clip_take{other}", f"preview_take{other}"}
    assert files["video"].name == f"clip{chosen}.mp4" and files[f"clip_take{other}"].name == f"clip{other}.mp4"
    assert probe(files[f"clip_take{other}"]).frames == 12
    assert set(info["clip_scores"]) == {"1", "2"}
    assert sum(r.getMessage().startswith("clip[b] take") for r in caplog.records) == 2


def test_clip_pick_chooses_a_take_whatever_its_score(pipeline_for):
    picked = pipeline_for(TWO_CLIP_TAKES.replace("    clip_takes: 2\n", "    clip_takes: 2\n    clip_pick: 2\n"))
    files, info = picked.clip("b")
    assert info["clip_take"] == 2 and files["video"].name == "clip2.mp4" and "clip_take1" in files


def board(takes: int, best: int = 1) -> dict:
    return {"files": {f"take{t}": {"key": f"k{t}"} for t in range(1, takes + 1)},
            "info": {"takes": takes, "best_take": best}}


def test_picked_take_is_the_best_or_the_one_named():
    assert clip.picked_take({"pick": "best"}, board(3, best=2), "b") == 2
    assert clip.picked_take({"pick": 3}, board(3, best=2), "b") == 3


def test_picking_a_take_the_storyboard_lacks_names_the_shot():
    with pytest.raises(ValueError, match=r"shot `b` picks take 3 but its storyboard has 2"):
        clip.picked_take({"pick": 3}, board(2), "b")
