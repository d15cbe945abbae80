"""upscaled_clip: the clip at `factor` times its size through the profile's upscaler, every frame kept."""

import numpy as np
from PIL import Image

from film_pipeline.media import probe, read_video
from film_pipeline_tests.conftest import MINI_FILM


def test_the_output_is_factor_times_the_input_size(pipeline):
    clip_files, _ = pipeline.clip("b")
    files, info = pipeline.upscaled_clip("b")
    source, upscaled = probe(clip_files["video"]), probe(files["video"])
    assert (source.width, source.height) == (64, 36)
    assert (upscaled.width, upscaled.height) == (2 * 64, 2 * 36) == (info["width"], info["height"])
    assert info["factor"] == 2 and info["backend"] == "realesrgan" and upscaled.video_codec == "h264"


def test_every_frame_is_kept(pipeline):
    _, clip_info = pipeline.clip("b")
    files, info = pipeline.upscaled_clip("b")
    assert probe(files["video"]).frames == clip_info["frames"] == info["frames"] == info["expected_frames"] == 12
    assert info["fps"] == 8 and probe(files["video"]).fps == 8


def test_the_upscaled_frames_are_the_clips_pictures(pipeline):
    clip_files, _ = pipeline.clip("b")
    files, _ = pipeline.upscaled_clip("b")
    for small, large in zip(read_video(clip_files["video"]), read_video(files["video"]), strict=True):
        shrunk = np.asarray(Image.fromarray(large).resize((64, 36), Image.Resampling.BOX), dtype=int)
        assert np.abs(shrunk - small).mean() < 12


def test_it_carries_the_clips_keyframe_and_seed(pipeline):
    _, clip_info = pipeline.clip("a")
    _, info = pipeline.upscaled_clip("a")
    assert info["keyframe"] == clip_info["keyframe"] and info["seed"] == clip_info["seed"]


def test_factor_one_keeps_the_size(pipeline_for):
    same = pipeline_for(MINI_FILM.replace("upscale: 2", "upscale: 1"))
    files, info = same.upscaled_clip("a")
    video = probe(files["video"])
    assert (video.width, video.height, video.frames) == (64, 36, 8) and info["factor"] == 1
