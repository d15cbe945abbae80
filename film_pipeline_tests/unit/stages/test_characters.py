"""characters: one reference image per character, rendered once into the store and reused after."""

from PIL import Image

from film_pipeline.specs import version_of
from film_pipeline.stages import characters
from film_pipeline.store import artifact_key, sha256_file
from film_pipeline_tests.conftest import MINI_FILM

CAST = MINI_FILM.replace("""\
  ana:
    description: a girl in a red coat
""", """\
  ana:
    description: a girl in a red coat
  bo:
    description: an old man in a blue hat
    seed: 11
""")


class NoPainting:
    """The real keyframe backend's name, but painting is refused: only a stored reference will do."""

    def __init__(self, real):
        self.name = real.name

    def paint(self, request):
        raise AssertionError(f"painted {request.prompt!r} again instead of reusing its stored reference")


def ref_key(pipeline, name: str) -> str:
    spec = pipeline.spec("character_spec")
    look = next(c for c in spec["characters"] if c["name"] == name)
    return artifact_key(pipeline.film.slug, "character_ref", name, version_of(spec["backend"], look), "png")


def test_one_reference_file_per_character_and_a_cast_sheet(pipeline_for):
    cast = pipeline_for(CAST)
    files, info = cast.characters()
    assert set(files) == {"contact_sheet", "ref-ana", "ref-bo"}
    assert all(path.is_file() for path in files.values())
    assert Image.open(files["ref-ana"]).size == characters.PORTRAIT_SIZE
    assert info["characters"] == 2 and info["backend"] == "procedural-keyframe" and info["device"] == "cpu"
    assert info["conditions_shots"] is False
    assert sha256_file(files["ref-ana"]) != sha256_file(files["ref-bo"])


def test_references_are_kept_in_the_store_under_their_version(pipeline_for):
    cast = pipeline_for(CAST)
    files, _ = cast.characters()
    for name in ("ana", "bo"):
        key = ref_key(cast, name)
        assert cast.store.exists(key)
        assert sha256_file(cast.store.local_path(key)) == sha256_file(files[f"ref-{name}"])


def test_a_second_render_reuses_the_stored_references(pipeline_for, backends):
    cast = pipeline_for(CAST)
    first, _ = cast.characters()
    cast.backends = lambda stage, ident: NoPainting(backends(stage, ident))
    second, info = cast.characters()
    for name in ("ana", "bo"):
        assert sha256_file(second[f"ref-{name}"]) == sha256_file(first[f"ref-{name}"])
    assert info["characters"] == 2


def test_editing_one_character_repaints_only_that_one(pipeline_for, backends):
    cast = pipeline_for(CAST)
    first, _ = cast.characters()
    # the same film (same slug, same store) after film.yaml's edit
    edited = pipeline_for(CAST.replace("a girl in a red coat", "a girl in a green coat"), name=cast.film.slug)
    painted = []

    def counting(stage, ident):
        real = backends(stage, ident)

        class Counting:
            name = real.name

            def paint(self, request):
                painted.append(request.prompt)
                return real.paint(request)
        return Counting()

    edited.backends = counting
    second, _ = edited.characters()
    assert painted == ["ana, a girl in a green coat, full figure"]
    assert sha256_file(second["ref-bo"]) == sha256_file(first["ref-bo"])
    assert sha256_file(second["ref-ana"]) != sha256_file(first["ref-ana"])


def test_a_film_without_characters_has_an_empty_cast(pipeline_for):
    nobody = pipeline_for(MINI_FILM.replace("characters:\n  ana:\n    description: a girl in a red coat\n", "")
                          .replace("    characters: [ana]\n", ""))
    files, info = nobody.characters()
    assert set(files) == {"contact_sheet"} and info["characters"] == 0 and info["seed"] == "none"
