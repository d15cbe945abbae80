"""Real-ESRGAN checkpoints for the `full` profile: the architecture read from the state dict, the
checkpoint found as a local file or in the local Hugging Face cache, batches equal to single
frames, a still clip upscaled without flicker, and a film rendered through it."""

import numpy as np
import pytest
import torch

from film_pipeline.backends.realesrgan import RealEsrganUpscaler
from film_pipeline.media import probe, read_video
from film_pipeline.models import ModelMissingError
from film_pipeline.models.realesrgan import RRDBNet, SRVGGNetCompact, load_checkpoint
from film_pipeline_tests.families import FAMILY_FILM, render_family


def save_rrdb(path, scale=4, wrap="params_ema"):
    torch.manual_seed(1)
    net = RRDBNet(scale, feat=8, blocks=1, grow=4)
    torch.save({wrap: net.state_dict()} if wrap else net.state_dict(), path)
    return net.eval()


def save_compact(path):
    torch.manual_seed(2)
    net = SRVGGNetCompact(channels=8, body=2, shuffle=4, out_scale=1)
    torch.save({"params": net.state_dict()}, path)
    return net.eval()


@pytest.mark.parametrize("kind", ["rrdb x4", "rrdb x2", "rrdb plain", "compact x4"])
def test_a_checkpoint_loads_as_the_network_it_was_saved_from(tmp_path, kind):
    path = tmp_path / "net.pth"
    original = {"rrdb x4": lambda: save_rrdb(path), "rrdb x2": lambda: save_rrdb(path, scale=2),
                "rrdb plain": lambda: save_rrdb(path, wrap=None), "compact x4": lambda: save_compact(path)}[kind]()
    loaded, scale = load_checkpoint(path)
    assert scale == (2 if kind == "rrdb x2" else 4) and type(loaded) is type(original)
    x = torch.rand(1, 3, 8, 12)
    with torch.inference_mode():
        assert torch.equal(loaded(x), original(x)) and loaded(x).shape == (1, 3, 8 * scale, 12 * scale)


def fake_hub_cache(root, repo, filename, source):
    """The local cache as `hf download REPO FILENAME` leaves it."""
    folder = root / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)
    snapshot = folder / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / filename).write_bytes(source.read_bytes())


def test_a_hub_checkpoint_loads_from_the_local_cache_and_a_missing_one_says_how_to_get_it(tmp_path, monkeypatch):
    save_rrdb(tmp_path / "x4.pth")
    fake_hub_cache(tmp_path / "hub", "ai-forever/Real-ESRGAN", "RealESRGAN_x4.pth", tmp_path / "x4.pth")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    upscaler = RealEsrganUpscaler("ai-forever/Real-ESRGAN", weight_name="RealESRGAN_x4.pth", dtype="float32")
    assert upscaler.upscale(np.zeros((6, 10, 3), np.uint8), 4).shape == (24, 40, 3)
    with pytest.raises(ModelMissingError, match=r"hf download ai-forever/Real-ESRGAN RealESRGAN_x2.pth"):
        RealEsrganUpscaler("ai-forever/Real-ESRGAN", weight_name="RealESRGAN_x2.pth")
    with pytest.raises(ValueError, match=r"makes x4; `upscale: 8` needs a x8 checkpoint"):
        upscaler.upscale(np.zeros((6, 10, 3), np.uint8), 8)


def test_batches_equal_single_frames_and_a_still_clip_stays_still(tmp_path):
    save_rrdb(tmp_path / "x4.pth")
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (10, 14, 3), dtype=np.uint8) for _ in range(5)]
    one = RealEsrganUpscaler(str(tmp_path / "x4.pth"), dtype="float32", batch=1)
    many = RealEsrganUpscaler(str(tmp_path / "x4.pth"), dtype="float32", batch=4)
    for factor in (4, 3, 2):
        singles = [one.upscale(f, factor) for f in frames]
        batched = many.upscale_batch(frames, factor)
        assert all(np.array_equal(a, b) for a, b in zip(singles, batched)) and singles[0].shape == (10 * factor, 14 * factor, 3)
    still = many.upscale_batch([frames[0]] * 4, 4)
    assert all(np.array_equal(still[0], f) for f in still), "no noise: a frame that does not move stays the same"


def test_a_film_upscales_through_a_checkpoint_in_batches(home, tmp_path):
    save_compact(tmp_path / "general-x4v3.pth")
    text = FAMILY_FILM.replace("upscale: 1", "upscale: 2")
    result, meta = render_family(home, {"upscale": {"model": str(tmp_path / "general-x4v3.pth"), "batch": 3}}, text)
    assert not result.failures, result.failures
    for shot, frames in (("a", 8), ("b", 12)):
        clip = probe(meta("upscaled_clip", shot)["path"])
        assert (clip.frames, clip.width, clip.height) == (frames, 128, 80)
        assert meta("upscaled_clip", shot)["model"] == str(tmp_path / "general-x4v3.pth")
    assert sum(1 for _ in read_video(result.final_cut)) == 8 + 12
