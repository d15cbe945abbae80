"""The text-to-image keyframe families (SDXL, SD 3, FLUX, Z-Image): each a real-shaped tiny replica,
switched in with nothing but `models: {keyframe: {model: ...}}` on the tiny profile and rendered
through `film render`'s code path; the family's rules (size multiple, defaults, IP-Adapter) as applied."""

import numpy as np
import pytest
from PIL import Image

from film_pipeline.backends import CharacterLook, KeyframeRequest, backend_for, backend_id
from film_pipeline.backends.text2image import DiffusersText2Image
from film_pipeline.models.keyframe_families import FAMILIES, KeyframeRuleError, Rules, check_settings
from film_pipeline.stages.characters import conditions_on_references
from film_pipeline_tests.families import render_family

# family: its pipeline class, and the size it renders a 64x40 keyframe at (a multiple of 8, or of 16)
CASES = {"sdxl": ("StableDiffusionXLPipeline", "64x40"), "sd3": ("StableDiffusion3Pipeline", "64x32"),
         "flux": ("FluxPipeline", "64x32"), "z-image": ("ZImagePipeline", "64x32")}
# what the tiny profile's IP-Adapter (SD 1.5-shaped weights, still in the settings after the override) became
IP_ADAPTER = {"sdxl": "`tiny:stable-diffusion` does not fit this SDXL pipeline", "sd3": "SD 3 has no IP-Adapter",
              "flux": "FLUX has no IP-Adapter in this backend", "z-image": "Z-Image has no IP-Adapter in diffusers"}
# The shared film's first shot, without music or narration, and its clip by a camera move: one render is mostly
# Dagster's own bookkeeping on this machine, and only the keyframe is under test.
KEYFRAME_FILM = """\
title: Families
profile: tiny
fps: 8
resolution: [64, 40]
upscale: 1
seed: 5
shots:
  - {id: a, prompt: a lighthouse at dusk, duration: 1.0, camera: pan_left}
"""


@pytest.mark.parametrize("family", list(CASES))
def test_each_family_renders_the_film_with_only_a_models_override(home, family):
    pipeline, native = CASES[family]
    keyframe = {"model": f"tiny:{family}"}
    result, meta = render_family(home, {"keyframe": keyframe, "motion": {"backend": "camera-move"}}, KEYFRAME_FILM)
    assert not result.failures, result.failures
    board = meta("storyboard", "a")
    assert (board["family"], board["pipeline"], board["width"], board["height"]) == (family, pipeline, 80, 50)
    # keyframes are painted with a margin for camera moves: 80x50, which no family renders as it is
    assert (board["native_size"], board["size_rounded_from"]) == ("80x48", "80x50")
    assert (board["steps"], board["guidance"]) == (2, 2.0), "the profile's settings win over the family's defaults"
    assert board["ip_adapter"].startswith("not used: ") and IP_ADAPTER[family] in board["ip_adapter"]
    assert board["ip_adapter"].endswith("characters are carried by the prompt")
    image = np.asarray(Image.open(board["path"]).convert("RGB"))
    assert image.shape == (50, 80, 3), "the keyframe is the size asked for, whatever the family rendered at"
    assert image.std() > 5 and len(np.unique(image.reshape(-1, 3), axis=0)) > 100, "not blank, not flat"
    assert meta("clip", "a")["frames"] == 8, "the clip was made from the family's keyframe"
    # the backend the render loaded (from the process cache): its size rule; the same seed, the same pixels
    backend = backend_for("keyframe", backend_id("keyframe", "tiny", keyframe))
    request = KeyframeRequest("a lighthouse at dusk", None, (), 7, (64, 40))
    assert backend.facts(request)["native_size"] == native
    first, again = np.asarray(backend.paint(request)), np.asarray(backend.paint(request))
    assert np.array_equal(first, again)
    other = np.asarray(backend.paint(KeyframeRequest("a lighthouse at dusk", None, (), 8, (64, 40))))
    assert not np.array_equal(first, other)


def test_sdxl_conditions_characters_on_its_own_ip_adapter():
    """The tiny SDXL replica ships an SDXL-shaped IP-Adapter: with it, characters are drawn from references."""
    adapter = {"model": "tiny:sdxl", "subfolder": "ip_adapter", "weight_name": "ip-adapter.safetensors",
               "image_encoder_folder": "image_encoder", "scale": 0.6}
    backend = DiffusersText2Image(model="tiny:sdxl", steps=1, guidance=2.0, ip_adapter=adapter, reference_size=64)
    ana = CharacterLook("ana", "a girl in a red coat", 11)
    request = KeyframeRequest("a lighthouse", None, (ana,), 3, (64, 40))
    assert backend.facts(request)["ip_adapter"] == "used, scale 0.6"
    assert conditions_on_references(backend) and backend.references(request)["ana"].size == (64, 64)
    conditioned = np.asarray(backend.paint(request))
    plain = np.asarray(backend.paint(KeyframeRequest("a lighthouse", None, (), 3, (64, 40))))
    assert not np.array_equal(conditioned, plain), "the reference changed the picture"


def test_sizes_round_to_the_family_multiple_and_what_cannot_be_met_is_an_error_naming_the_rule():
    sd, sdxl, sd3, flux, z_image = FAMILIES
    rules = Rules(flux, "FluxPipeline", 16, 28, 3.5, 512, 512)
    assert rules.native_size((64, 40)) == (64, 32)  # a tie goes to the even multiple
    assert rules.native_size((70, 41)) == (64, 48) and rules.native_size((5, 9)) == (16, 16)
    assert rules.facts((64, 48)) == {"family": "flux", "pipeline": "FluxPipeline", "native_size": "64x48",
                                     "size_multiple": 16}
    assert rules.facts((70, 41))["size_rounded_from"] == "70x41"
    assert Rules(sd, "StableDiffusionPipeline", 8, 50, 7.5, None, None).native_size((36, 30)) == (32, 32)
    big = Rules(sd3, "StableDiffusion3Pipeline", 16, 28, 7.0, 256, 512, 1536, "pos_embed_max_size 96 x patch 2 x VAE 8")
    assert big.native_size((1536, 864)) == (1536, 864)
    with pytest.raises(KeyframeRuleError, match=r"SD 3 renders at most 1536 px a side \(pos_embed_max_size 96"):
        big.native_size((2048, 1152))
    # settings a family cannot honour
    assert check_settings(rules, None, None) == 16 and check_settings(rules, 32, 256) == 32
    with pytest.raises(KeyframeRuleError, match="size_multiple: FLUX renders sizes in multiples of 16; 8 is not"):
        check_settings(rules, 8, None)
    with pytest.raises(KeyframeRuleError, match="max_sequence_length: FLUX reads at most 512 text tokens"):
        check_settings(rules, None, 1024)
    with pytest.raises(KeyframeRuleError, match="max_sequence_length: SDXL reads a fixed 77 CLIP tokens"):
        check_settings(Rules(sdxl, "StableDiffusionXLPipeline", 8, 50, 5.0, None, None), None, 128)


def test_a_loaded_family_applies_its_rules_and_defaults():
    """The rules come from the loaded pipeline: SD 3's size limit from its position embedding; unset steps and
    guidance from the family; a negative prompt FLUX cannot take is dropped and recorded."""
    sd3 = DiffusersText2Image(model="tiny:sd3", steps=1)
    assert (sd3.rules.size_multiple, sd3.rules.max_side, sd3.guidance) == (16, 1536, 7.0)
    with pytest.raises(KeyframeRuleError, match="pos_embed_max_size 96 x patch 2 x VAE 8"):
        sd3.paint(KeyframeRequest("a lighthouse", None, (), 1, (2048, 1152)))
    facts = sd3.facts(KeyframeRequest("a lighthouse", None, (), 1, (64, 40)))
    assert facts["family_defaults"] == "guidance" and facts["max_sequence_length"] == 256
    flux = DiffusersText2Image(model="tiny:flux", steps=1, negative_prompt="blurry", max_sequence_length=32)
    facts = flux.facts(KeyframeRequest("a lighthouse", None, (), 1, (64, 64)))
    assert facts["negative_prompt"].startswith("not used: FLUX is guidance-distilled")
    assert (facts["guidance"], facts["max_sequence_length"], "size_rounded_from" in facts) == (3.5, 32, False)
    assert flux.paint(KeyframeRequest("a lighthouse", None, (), 1, (64, 64))).size == (64, 64)
    with pytest.raises(KeyframeRuleError, match="max_sequence_length: SD 1.5/2 reads a fixed 77 CLIP tokens"):
        DiffusersText2Image(model="tiny:sd15", max_sequence_length=64)
