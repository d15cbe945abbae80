"""What a render leaves behind: a playable final cut of the right length, and honest metadata."""

import re

import dagster as dg
import numpy as np
from PIL import Image

from film_pipeline.home import get_instance
from film_pipeline.media import probe, read_audio
from film_pipeline.render import render_film
from film_pipeline.store import sha256_file

# mini: a=8 frames, b=12, c=8 at 8 fps; the a->b crossfade overlaps min(4, 8//2, 12//2) = 4 frames.
EXPECTED_FRAMES = 8 + 12 + 8 - 4


def latest(asset, partition=None):
    record = get_instance().get_latest_data_version_record(dg.AssetKey(["mini", asset]), False, partition)
    return record.event_log_entry.asset_materialization


def test_final_cut_decodes_with_the_scripted_length_size_and_sound(rendered):
    cut = render_film(rendered).final_cut
    info = probe(cut)
    assert info.frames == EXPECTED_FRAMES
    assert info.fps == 8
    assert abs(info.duration - EXPECTED_FRAMES / 8) < 1e-9
    assert (info.width, info.height) == (128, 72)  # resolution x upscale
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    audio = read_audio(cut)
    assert abs(len(audio) / 48_000 - EXPECTED_FRAMES / 8) < 0.1
    assert np.sqrt(np.mean(audio ** 2)) > 0.01, "the cut has an audible soundtrack"


def test_artifacts_are_content_addressed_and_recorded(rendered):
    meta = latest("final_cut").metadata
    path = meta["path"].value
    assert re.search(r"/store/mini/final_cut/_/[0-9a-f]{20}\.mp4$", path)
    assert path.endswith(f"/{latest('final_cut').tags['dagster/data_version']}.mp4")
    assert meta["sha256"].value == sha256_file(path)
    assert meta["bytes"].value == len(open(path, "rb").read())
    for key in ("uri", "seconds", "frames", "duration_seconds", "preview_poster", "preview_contact_sheet"):
        assert key in meta
    poster = Image.open(path.replace(".mp4", ".poster.png"))
    assert poster.size == (128, 72)
    sheet = Image.open(path.replace(".mp4", ".contact_sheet.png"))
    assert sheet.width > 2 * 240


def test_storyboard_metadata_has_seed_backend_and_a_preview(rendered):
    meta = latest("storyboard", "b").metadata
    assert meta["backend"].value == "procedural-keyframe"
    assert meta["takes"].value == 2
    assert isinstance(meta["seed"].value, int)
    assert meta["preview_take1"].value.startswith("![take1](data:image/jpeg;base64,")
    take2 = meta["path"].value.replace(".png", ".take2.png")
    assert Image.open(take2).size == (80, 44)  # painted 1.25x the 64x36 frame, kept even


def test_clip_has_exactly_duration_times_fps_frames(rendered):
    for shot_id, frames in (("a", 8), ("b", 12), ("c", 8)):
        clip = probe(latest("clip", shot_id).metadata["path"].value)
        upscaled = probe(latest("upscaled_clip", shot_id).metadata["path"].value)
        assert clip.frames == upscaled.frames == frames
        assert (clip.width, clip.height, upscaled.width, upscaled.height) == (64, 36, 128, 72)


def test_a_second_render_writes_nothing_new(rendered):
    store = rendered.parent.parent / "store"
    before = {p: p.stat().st_mtime_ns for p in store.rglob("*")}
    result = render_film(rendered)
    assert result.materialized == []
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*")} == before


def test_clip_metadata_has_an_animated_preview_model_and_frames(rendered):
    import base64
    import io

    meta = latest("clip", "b").metadata
    assert meta["model"].value == "camera-move" and meta["expected_frames"].value == meta["frames"].value == 12
    markdown = meta["preview_motion"].value
    assert markdown.startswith("![motion](data:image/webp;base64,")
    preview = Image.open(io.BytesIO(base64.b64decode(markdown.split(",", 1)[1].rstrip(")"))))
    assert preview.format == "WEBP" and preview.n_frames == 12 and preview.width == 160
    assert latest("upscaled_clip", "b").metadata["model"].value == "realesr-animevideov3"
