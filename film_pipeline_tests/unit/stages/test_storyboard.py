"""storyboard: a keyframe per take, painted from the shot's prompt, scored, the best one chosen."""

import numpy as np
from PIL import Image

from film_pipeline.scoring import image_scores
from film_pipeline_tests.conftest import MINI_FILM


def take_lines(caplog, shot):
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"storyboard[{shot}] take")]


def test_two_takes_give_two_keyframes_and_a_takes_sheet(pipeline):
    files, info = pipeline.storyboard("b")
    assert set(files) == {"take1", "take2", "takes_sheet"}
    assert all(path.is_file() for path in files.values())
    size = tuple(pipeline.spec("visual_spec", "b")["size"])
    assert size == (80, 44)  # 64x36 and a margin for camera moves
    assert Image.open(files["take1"]).size == size == Image.open(files["take2"]).size
    first, second = (np.asarray(Image.open(files[t]), dtype=int) for t in ("take1", "take2"))
    assert np.abs(first - second).mean() > 1, "each take has a seed of its own"
    assert info["takes"] == 2 and (info["width"], info["height"]) == size


def test_both_takes_are_scored_and_the_best_is_among_them(pipeline):
    files, info = pipeline.storyboard("b")
    assert set(info["scores"]) == {"1", "2"}
    for take in (1, 2):
        assert info["scores"][str(take)] == image_scores(Image.open(files[f"take{take}"]))
    totals = {int(t): s["total"] for t, s in info["scores"].items()}
    assert info["best_take"] in (1, 2) and totals[info["best_take"]] == max(totals.values())
    starred = [row for row in info["take_scores"]["md"].splitlines() if "★" in row]
    assert len(starred) == 1 and starred[0].startswith(f"| ★ {info['best_take']} |")


def test_the_log_gets_one_line_per_take(pipeline, caplog):
    pipeline.storyboard("b")
    lines = take_lines(caplog, "b")
    assert len(lines) == 2
    assert lines[0].startswith("storyboard[b] take 1/2 painted, score ")
    assert lines[1].startswith("storyboard[b] take 2/2 painted, score ")


def test_a_single_take_has_no_takes_sheet(pipeline, caplog):
    files, info = pipeline.storyboard("a")
    assert set(files) == {"take1"} and info["best_take"] == 1 and info["takes"] == 1
    assert len(take_lines(caplog, "a")) == 1
    assert info["caption"] == "a · a lighthouse at sunset"


def test_the_procedural_painter_draws_characters_without_references(pipeline):
    files, info = pipeline.storyboard("a")  # ana is in shot a
    assert info["character_references"] == "none" and not any(k.startswith("ref-") for k in files)
    assert info["backend"] == "procedural-keyframe" and info["device"] == "cpu"


def test_same_spec_paints_the_same_keyframe(pipeline_for):
    once = pipeline_for(MINI_FILM, "once").storyboard("b")[0]
    again = pipeline_for(MINI_FILM, "again").storyboard("b")[0]
    for take in ("take1", "take2"):
        assert np.array_equal(np.asarray(Image.open(once[take])), np.asarray(Image.open(again[take])))


def test_three_takes_are_painted_when_asked(pipeline_for, caplog):
    three = pipeline_for(MINI_FILM.replace("takes: 2", "takes: 3"))
    files, info = three.storyboard("b")
    assert {"take1", "take2", "take3", "takes_sheet"} == set(files)
    assert set(info["scores"]) == {"1", "2", "3"} and len(take_lines(caplog, "b")) == 3
