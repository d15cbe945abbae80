"""Every image-to-video family as a real-shaped tiny replica, switched in on the tiny profile with a
`models:` override of just `model` and `pipeline`, rendered through `film render`'s code path; the
family rules (`motion_families.py`): rounding, the clear error, and the end keyframe."""

import numpy as np
import pytest
from PIL import Image

from film_pipeline.backends import MotionRequest, backend_for, backend_id
from film_pipeline.backends.image2video import retime
from film_pipeline.media import probe
from film_pipeline.models.motion_families import (FAMILIES, MotionRuleError, Rules, bucket_size, calls_for, fit,
                                                  round_frames, round_size)
from film_pipeline_tests.families import FAMILY_FILM, render_family

# family -> (model, pipeline, what the clip stage records). The tiny profile's motion settings stay
# (num_frames 4, model_fps 4, 64x64), so each family's rules fit them: Wan and HunyuanVideo-1.5 take
# 4k+1 frames (4 -> 5) at their own rate, LTX 8k+1 (4 -> 9) at the settings' rate, CogVideoX one length
# and one size (its tiny one: 9 frames of 96x64). The film's shot a is 1.0 s at 8 fps.
CASES = {
    "ltx-video": ("tiny:ltx-video", "LTXImageToVideoPipeline",
                  {"native_frames": 9, "frames_rounded_from": 4, "native_size": "64x64", "model_fps": 4,
                   "fps_argument": "frame_rate", "frame_rule": "8k+1", "size_multiple": 32, "calls": 1}),
    "cogvideox-i2v": ("tiny:cogvideox-i2v", "CogVideoXImageToVideoPipeline",
                      {"native_frames": 9, "frames_rounded_from": 4, "native_size": "96x64",
                       "size_rounded_from": "64x64", "model_fps": 8, "model_fps_from": 4, "fps_argument": "none",
                       "frame_rule": "fixed", "calls": 1}),
    "wan-i2v": ("tiny:wan-i2v", "WanImageToVideoPipeline",
                {"native_frames": 5, "frames_rounded_from": 4, "native_size": "64x64", "model_fps": 16,
                 "model_fps_from": 4, "fps_argument": "none", "frame_rule": "4k+1", "size_multiple": 16,
                 "calls": 4}),
    "hunyuanvideo15-i2v": ("tiny:hunyuanvideo15-i2v", "HunyuanVideo15ImageToVideoPipeline",
                           {"native_frames": 5, "frames_rounded_from": 4, "native_size": "64x64", "model_fps": 24,
                            "model_fps_from": 4, "fps_argument": "none", "frame_rule": "4k+1", "calls": 6,
                            "guidance": 6.0}),
}


def one_shot_film() -> str:
    """The shared family film with its first shot only (a render is ~15 s of stages besides motion on
    this machine; the chained calls are in the shot anyway: Wan makes 4, HunyuanVideo-1.5 6)."""
    import io

    from ruamel.yaml import YAML

    doc = YAML().load(FAMILY_FILM)
    del doc["shots"][1:]
    out = io.StringIO()
    YAML().dump(doc, out)
    return out.getvalue()


@pytest.mark.parametrize("family", sorted(CASES))
def test_each_family_renders_through_film_render_with_its_rules_recorded(home, family):
    model, pipeline, expected = CASES[family]
    result, meta = render_family(home, {"motion": {"model": model, "pipeline": pipeline}}, text=one_shot_film())
    assert not result.failures, result.failures
    clip = meta("clip", "a")
    decoded = probe(clip["path"])
    assert (decoded.frames, decoded.width, decoded.height) == (8, 64, 40), "1.0 s at 8 fps, the film's size"
    assert (clip["family"], clip["pipeline"], clip["frames"]) == (family, pipeline, 8)
    assert {key: clip.get(key) for key in expected} == expected


# -- the rules, without a model ------------------------------------------------------------------


def rules(name: str, **changes) -> Rules:
    family = FAMILIES[name]
    base = dict(family=family, frame_step=family.frame_step, size_multiple=family.size_multiple,
                native_frames=family.native_frames, max_frames=family.max_frames, native_size=family.native_size,
                native_fps=family.native_fps, guidance=family.guidance, first_last=family.first_last)
    return Rules(**{**base, **changes})


def test_frame_counts_round_to_the_nearest_count_the_family_takes():
    assert [round_frames(n, 4, 81) for n in (2, 4, 5, 7, 8, 80, 200)] == [5, 5, 5, 9, 9, 81, 81]
    assert [round_frames(n, 8, 257) for n in (2, 4, 12, 13, 161, 300)] == [9, 9, 9, 17, 161, 257]
    assert [round_frames(n, 1, None) for n in (1, 14, 40)] == [2, 14, 40], "SVD takes any length"
    assert round_size((64, 40), 16) == (64, 48) and round_size((70, 20), 32) == (64, 32)
    assert calls_for(16, 4) == 5 and calls_for(9, 9) == 1 and calls_for(13, 9) == 2


def test_fitting_records_what_was_rounded_and_uses_the_models_own_rate_without_an_fps_argument():
    wan = fit(rules("wan-i2v"), num_frames=4, size=(100, 60), model_fps=4, steps=2, guidance=None)
    assert (wan.frames, wan.size, wan.model_fps, wan.guidance) == (5, (96, 64), 16, 5.0)
    assert (wan.frames_rounded_from, wan.size_rounded_from, wan.model_fps_from) == (4, (100, 60), 4)
    ltx = fit(rules("ltx-video"), num_frames=None, size=None, model_fps=None, steps=None, guidance=None)
    assert (ltx.frames, ltx.size, ltx.model_fps, ltx.steps, ltx.guidance) == (161, (704, 512), 25, 50, 3.0)
    assert ltx.frames_rounded_from is None and ltx.size_rounded_from is None
    cog = fit(rules("cogvideox-i2v", fixed_frames=49, fixed_size=(720, 480)), num_frames=25, size=(1024, 576),
              model_fps=7, steps=None, guidance=None)
    assert (cog.frames, cog.size, cog.model_fps, cog.frames_rounded_from) == (49, (720, 480), 8, 25)
    hunyuan = fit(rules("hunyuanvideo15-i2v", bucket=640), num_frames=121, size=(1280, 720), model_fps=None,
                  steps=None, guidance=None)
    assert hunyuan.size == bucket_size((1280, 720), 640, 16) == (848, 480)
    svd = fit(rules("stable-video-diffusion"), num_frames=14, size=(1024, 576), model_fps=7, steps=25, guidance=2.0)
    assert (svd.guidance, svd.guidance_unused) == (3.0, 2.0), "SVD has no guidance argument: recorded, not used"


@pytest.mark.parametrize("settings, rule", [
    ({"num_frames": 1}, "at least two frames"),
    ({"size": (0, 64)}, "positive size"),
    ({"steps": 0}, "at least one denoising step"),
    ({"model_fps": 0}, "frame rate must be positive"),
])
def test_a_request_the_rules_cannot_meet_is_an_error_naming_the_rule(settings, rule):
    arguments = {"num_frames": 9, "size": (64, 64), "model_fps": 8, "steps": 2, "guidance": None, **settings}
    with pytest.raises(MotionRuleError, match=rule) as caught:
        fit(rules("ltx-video"), **arguments)
    assert "ltx-video" in str(caught.value) or "frame rate" in str(caught.value)


def test_a_pipeline_that_is_no_image_to_video_family_is_a_clear_error():
    from film_pipeline.models.motion_families import family_of

    class LTXPipeline:  # text-to-video: no image to start from
        pass

    with pytest.raises(MotionRuleError, match="`LTXPipeline` is not an image-to-video family") as caught:
        family_of(LTXPipeline())
    assert "WanImageToVideoPipeline" in str(caught.value)


def fake_pipeline(name: str, **parts):
    """An object of a pipeline class's name with just the parts the rules read."""
    return type(name, (), parts)()


def test_the_rules_follow_the_loaded_checkpoints_parts():
    from types import SimpleNamespace as Config

    from film_pipeline.models.motion_families import rules_for

    def wan(image_dim, pos_embed_seq_len):
        transformer = Config(config=Config(patch_size=(1, 2, 2), image_dim=image_dim,
                                           pos_embed_seq_len=pos_embed_seq_len))
        return rules_for(fake_pipeline("WanImageToVideoPipeline", vae_scale_factor_temporal=4,
                                       vae_scale_factor_spatial=8, transformer=transformer))

    i2v, flf2v, wan22 = wan(1280, None), wan(1280, 514), wan(None, None)
    assert (i2v.first_last, i2v.frame_rule, i2v.size_multiple) == (None, "4k+1", 16), "Wan 2.1 I2V: blended"
    assert (flf2v.first_last, flf2v.two_images, flf2v.native_size) == ("last_image", True, (1280, 720))
    assert (wan22.first_last, wan22.two_images) == ("last_image", False)

    def cogvideox(learned: bool):
        transformer = Config(config=Config(patch_size=2, use_learned_positional_embeddings=learned, sample_width=90,
                                           sample_height=60, sample_frames=49))
        return rules_for(fake_pipeline("CogVideoXImageToVideoPipeline", vae_scale_factor_spatial=8,
                                       vae_scale_factor_temporal=4, transformer=transformer))

    five_b, one_five = cogvideox(True), cogvideox(False)
    assert (five_b.frame_rule, five_b.fixed_frames, five_b.fixed_size, five_b.native_fps) == \
        ("fixed", 49, (720, 480), 8)
    assert (one_five.frame_rule, one_five.max_frames, one_five.native_fps, one_five.fixed_size) == \
        ("4k+1", 81, 16, None)


# -- the end keyframe ----------------------------------------------------------------------------


def motion_backend(model: str, pipeline: str):
    return backend_for("motion", backend_id("motion", "tiny", {"model": model, "pipeline": pipeline}))


START, END = Image.new("RGB", (80, 50), (200, 40, 40)), Image.new("RGB", (64, 40), (20, 200, 30))


def test_wan_ends_a_chained_shot_on_the_end_keyframe_through_last_image(monkeypatch):
    video = motion_backend("tiny:wan-i2v", "WanImageToVideoPipeline")
    seen = []
    original = type(video.pipe).__call__
    monkeypatch.setattr(type(video.pipe), "__call__",
                        lambda self, **kwargs: seen.append(kwargs) or original(self, **kwargs))
    request = MotionRequest("static", "waves", 4, 8, (64, 40), "", 7, end_keyframe=END)
    # the tiny Wan embeds two images' tokens (as Wan2.1-FLF2V): the first call, without an end keyframe,
    # runs only because the backend gives it the start image twice
    frames = list(video.animate(START, request))
    assert len(frames) == 4 and frames[0].shape == (40, 64, 3)
    facts = video.facts(request)
    # the 4th frame at 8 fps is at 0.375 s: native frame 6 at Wan's 16 fps, so 7 frames in calls of 5
    assert facts["end_keyframe"] == "last_image" and facts["calls"] == len(seen) == 2
    assert [call.get("last_image") is not None for call in seen] == [False, True], \
        "only the last call ends on the end keyframe"
    end = seen[-1]["last_image"]
    assert end.size == (64, 64) and np.asarray(end)[0, 0].tolist() == [20, 200, 30], "at the call's size"
    assert all(call["num_frames"] % 4 == 1 and call["height"] % 16 == 0 for call in seen)


def test_ltx_ends_on_the_end_keyframe_through_conditioning_frames(monkeypatch):
    import diffusers

    video = motion_backend("tiny:ltx-video", "LTXImageToVideoPipeline")
    seen = []
    original = diffusers.LTXConditionPipeline.__call__
    monkeypatch.setattr(diffusers.LTXConditionPipeline, "__call__",
                        lambda self, **kwargs: seen.append(kwargs) or original(self, **kwargs))
    request = MotionRequest("static", "waves", 10, 8, (64, 40), "", 7, end_keyframe=END)
    frames = list(video.animate(START, request))
    assert len(frames) == 10 and video.facts(request)["end_keyframe"] == "conditioning_frames"
    assert len(seen) == 1 and seen[0]["frame_index"] == [0, seen[0]["num_frames"] - 1]
    assert [image.size for image in seen[0]["image"]] == [(64, 64), (64, 64)]
    assert video._condition_pipe.transformer is video.pipe.transformer, "the same components, loaded once"


def test_families_without_first_and_last_frames_dissolve_to_the_end_keyframe():
    video = motion_backend("tiny:cogvideox-i2v", "CogVideoXImageToVideoPipeline")
    plain = MotionRequest("static", None, 6, 8, (64, 40), "", 3)
    ended = MotionRequest("static", None, 6, 8, (64, 40), "", 3, end_keyframe=END)
    without, with_end = list(video.animate(START, plain)), list(video.animate(START, ended))
    facts = video.facts(ended)
    assert facts["end_keyframe"] == "blended" and facts["end_blend_frames"] == 5 and facts["calls"] == 1
    assert "end_keyframe" not in video.facts(plain)
    assert np.array_equal(without[0], with_end[0]), "the start is untouched"
    assert np.abs(with_end[-1].astype(int) - [20, 200, 30]).max() <= 2, "the last frame is the end keyframe"
    distance = lambda frame: np.abs(frame.astype(int) - [20, 200, 30]).mean()  # noqa: E731
    assert distance(with_end[3]) < distance(without[3]), "the frames before it are on their way to it"


def test_a_continuing_shot_starts_exactly_on_the_previous_shots_last_frame():
    video = motion_backend("tiny:ltx-video", "LTXImageToVideoPipeline")
    last = Image.new("RGB", (64, 40), (10, 120, 220))
    frames = list(video.animate(last, MotionRequest("static", None, 4, 8, (64, 40), "", 7, continues=True)))
    assert len(frames) == 4 and np.array_equal(frames[0], np.asarray(last))
    assert video.facts(MotionRequest("static", None, 4, 8, (64, 40), "", 7, continues=True))["continues"]


def test_retime_reaches_the_last_frame_exactly_when_the_rate_is_stretched_to_it():
    frames = [np.full((1, 1, 3), v, np.uint8) for v in range(0, 170, 10)]  # 17 native frames
    out = list(retime(frames, source_fps=16 * 8 / 7, target_fps=8, count=8))
    assert int(out[-1][0, 0, 0]) == 160 and int(out[0][0, 0, 0]) == 0
