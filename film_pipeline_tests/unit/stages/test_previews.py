"""previews: the score tables, take labels, stills and animated previews the UI shows of a take."""

import numpy as np
from PIL import Image

from film_pipeline.stages.previews import PREVIEW_FRAMES, PREVIEW_WIDTH, ClipGlimpse, scores_table, take_label

SCORES = {1: {"sharpness": 0.5, "exposure": 0.9, "total": 0.7},
          2: {"sharpness": 0.8, "exposure": 0.8, "total": 0.8},
          3: {"sharpness": 0.1, "exposure": 0.3, "total": 0.2}}


def level(index: int) -> int:
    return index * 37 % 256  # neighbouring frames differ clearly (WebP merges frames it sees as equal)


def numbered(count, size=(32, 18)):
    """Flat frames whose level says which frame they are."""
    return [np.full((size[1], size[0], 3), level(index), np.uint8) for index in range(count)]


def test_scores_table_stars_the_best_take_only():
    rows = scores_table(SCORES, best=2).splitlines()
    assert rows[0] == "| take | total | sharpness | exposure |" and rows[1] == "|---|---|---|---|"
    assert rows[2:] == ["| 1 | **0.700** | 0.500 | 0.900 |",
                        "| ★ 2 | **0.800** | 0.800 | 0.800 |",
                        "| 3 | **0.200** | 0.100 | 0.300 |"]


def test_scores_table_rows_are_in_take_order():
    rows = scores_table({3: SCORES[3], 1: SCORES[1]}, best=1).splitlines()[2:]
    assert rows[0].startswith("| ★ 1 |") and rows[1].startswith("| 3 |")


def test_take_label_stars_only_the_best():
    assert take_label(2, SCORES[2], True) == "★ take 2 · 0.80"
    assert take_label(3, SCORES[3], False) == "take 3 · 0.20"


def glimpsed(frames, total, fps, still_at=0):
    """A ClipGlimpse of `frames`, and the frames it passed on."""
    glimpse = ClipGlimpse(total, fps, still_at)
    return glimpse, list(glimpse.passing(iter(frames)))


def test_a_glimpse_passes_every_frame_counts_them_and_previews_at_most_16(tmp_path):
    frames = numbered(40)
    path = tmp_path / "preview.webp"
    glimpse, passed = glimpsed(frames, len(frames), 8)
    assert len(passed) == 40 and all(a is b for a, b in zip(passed, frames)) and glimpse.frames == 40
    glimpse.save_preview(path)
    preview = Image.open(path)
    assert preview.n_frames == 14 <= PREVIEW_FRAMES  # every third frame of 40
    assert preview.width == PREVIEW_WIDTH and preview.height == 90
    preview.seek(1)
    assert abs(np.asarray(preview.convert("RGB"), dtype=float).mean() - level(3)) < 8, "the second kept is frame 3"


def test_a_short_clip_keeps_all_its_frames_in_the_preview(tmp_path):
    path = tmp_path / "preview.webp"
    glimpse, passed = glimpsed(numbered(5), 5, 8)
    glimpse.save_preview(path)
    assert len(passed) == 5 and Image.open(path).n_frames == 5


def test_a_long_clip_still_keeps_at_most_16(tmp_path):
    path = tmp_path / "preview.webp"
    glimpsed(numbered(241), 241, 24)[0].save_preview(path)
    assert Image.open(path).n_frames <= PREVIEW_FRAMES


def test_a_glimpse_of_no_frames_writes_nothing(tmp_path):
    glimpse, passed = glimpsed([], 0, 8)
    glimpse.save_preview(tmp_path / "preview.webp")
    glimpse.save_still(tmp_path / "still.png")
    assert passed == [] and glimpse.frames == 0 and not list(tmp_path.iterdir())


def test_a_glimpse_keeps_frame_n_as_the_still(tmp_path):
    path = tmp_path / "still.png"
    glimpse, passed = glimpsed(numbered(10), 10, 8, still_at=7)
    glimpse.save_still(path)
    still = np.asarray(Image.open(path))
    assert len(passed) == 10 and still.shape == (18, 32, 3) and (still == level(7)).all()


def test_a_still_past_the_end_is_not_saved(tmp_path):
    path = tmp_path / "still.png"
    glimpse, passed = glimpsed(numbered(3), 3, 8, still_at=5)
    glimpse.save_still(path)
    assert len(passed) == 3 and not path.exists()
