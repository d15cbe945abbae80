"""film.yaml parsing: defaults, derived values, and a clear error (file, line, fix) for every mistake."""

import json
from pathlib import Path

import pytest

from film_pipeline.film import FilmError, derived_seed, film_slug, load_film
from film_pipeline_tests.conftest import MINI_FILM, write_film

REPO = Path(__file__).resolve().parents[2]

SHOT = "shots:\n  - id: s01\n    prompt: a cat\n"


def load(tmp_path, text):
    return load_film(write_film(tmp_path, text))


def test_defaults_and_derived_values(tmp_path):
    film = load(tmp_path, "title: T\n" + SHOT)
    assert (film.fps, film.resolution, film.upscale, film.seed, film.profile) == (24, (512, 288), 2, 0, "preview")
    (shot,) = film.shots
    assert (shot.duration, shot.camera, shot.transition, shot.takes, shot.pick) == (3.0, "static", "cut", 1, None)
    assert shot.seed == derived_seed(0, "s01")
    assert film.slug == "mini"


def test_the_mini_film_parses_completely(tmp_path):
    film = load(tmp_path, MINI_FILM)
    assert [s.id for s in film.shots] == ["a", "b", "c"]
    assert film.characters["ana"].description == "a girl in a red coat"
    assert film.music[0].prompt == "gentle hopeful theme"
    assert film.shot("b").takes == 2 and film.shot("b").camera == "pan_left"


def test_slug_is_a_valid_key_part(tmp_path):
    assert film_slug(tmp_path / "my film-2") == "my_film_2"
    assert film_slug(tmp_path / "2049") == "film_2049"


ERRORS = [
    # (film.yaml, expected line, fragments of the message)
    ("", None, ["film.yaml is empty", "fix:"]),
    ("title: [unclosed\n", 2, ["not valid YAML"]),
    ("- just\n- a list\n", 1, ["must be a mapping"]),
    (SHOT, 1, ["missing `title`", "add `title:`"]),
    ("title: T\n", 1, ["needs `shots:`"]),
    ("title: T\nshots: []\n", 2, ["at least one shot"]),
    ("title: T\ntitel: X\n" + SHOT, 2, ["unknown key `titel`", "did you mean `title`?"]),
    ("title: T\n" + SHOT + "    promt: x\n", 5, ["unknown key `promt` in shot `s01`", "did you mean `prompt`?"]),
    ("title: T\nfps: 0\n" + SHOT, 2, ["`fps`", "outside 1..120"]),
    ("title: T\nfps: fast\n" + SHOT, 2, ["`fps` in the film must be a whole number", "text 'fast'"]),
    ("title: T\nresolution: [511, 288]\n" + SHOT, 2, ["even numbers"]),
    ("title: T\nresolution: 512\n" + SHOT, 2, ["two whole numbers"]),
    ("title: T\nupscale: 8\n" + SHOT, 2, ["`upscale`", "1..4"]),
    ("title: T\nprofile: previw\n" + SHOT, 2, ["unknown profile `previw`", "did you mean `preview`?"]),
    ("title: T\n" + SHOT + "  - id: s01\n    prompt: b\n", 5, ["`s01` is used twice", "first on line 3"]),
    ("title: T\nshots:\n  - id: Shot 1\n    prompt: a\n", 3, ["shot id `Shot 1` is not valid", "lowercase"]),
    ("title: T\nshots:\n  - id: s1\n", 3, ["shot `s1` is missing `prompt`"]),
    ("title: T\n" + SHOT + "    duration: 0\n", 5, ["shorter than one frame"]),
    ("title: T\n" + SHOT + "    duration: 61\n", 5, ["`duration`", "outside 0..60"]),
    ("title: T\n" + SHOT + "    camera: zoom\n", 5, ["`camera: zoom` in shot `s01`", "use one of static"]),
    ("title: T\n" + SHOT + "    transition: crossfad\n", 5, ["did you mean `crossfade`?"]),
    ("title: T\n" + SHOT + "    characters: [bob]\n", 5, ["names character `bob`", "define it under `characters:`"]),
    ("title: T\ncharacters:\n  bob: {description: x}\n" + SHOT + "    characters: [bobb]\n", 7,
     ["did you mean `bob`?"]),
    ("title: T\n" + SHOT + "    takes: 17\n", 5, ["`takes`", "1..16"]),
    ("title: T\n" + SHOT + "    takes: 2\n    pick: 3\n", 6, ["`pick: 3` in shot `s01` is not one of its 2 take(s)"]),
    ("title: T\n" + SHOT + "    duration: yes\n", 5, ["`duration` in shot `s01` must be a number", "got text 'yes'"]),
    ("title: T\ncharacters:\n  bob: {seed: 1}\n" + SHOT, 3, ["character `bob` is missing `description`"]),
    ("title: T\nmusic:\n  - id: m\n    prompt: x\n    start: s02\n" + SHOT, 5, ["`start: s02`", "not a shot id"]),
    ("title: T\nmusic:\n  - id: m\n" + SHOT, 3, ["music cue `m` is missing `prompt`"]),
    ("title: T\nmusic: calm\n" + SHOT, 2, ["`music` must be a list"]),
    ("title: T\nmodels:\n  keyframes: {steps: 8}\n" + SHOT, 3, ["unknown key `keyframes` in `models`",
                                                              "did you mean `keyframe`?"]),
    ("title: T\nexpand: maybe\n" + SHOT, 2, ["`expand` in the film must be a true or false"]),
]


@pytest.mark.parametrize("text,line,fragments", ERRORS, ids=[e[2][0] for e in ERRORS])
def test_bad_input_names_the_file_the_line_and_the_fix(tmp_path, text, line, fragments):
    with pytest.raises(FilmError) as caught:
        load(tmp_path, text)
    error = caught.value
    message = str(error)
    assert error.path.endswith("film.yaml") and message.startswith(error.path)
    assert error.line == line, message
    for fragment in fragments:
        assert fragment in message
    assert error.fix, "every error says what to do"


def test_missing_film_yaml(tmp_path):
    with pytest.raises(FilmError, match="no film.yaml here"):
        load_film(tmp_path)


def test_character_shorthand(tmp_path):
    film = load(tmp_path, "title: T\ncharacters:\n  bob: a tall man\n" + SHOT + "    characters: [bob]\n")
    assert film.characters["bob"].description == "a tall man"
    assert film.characters["bob"].seed == derived_seed(0, "character", "bob")


def test_music_cue_that_ends_before_it_starts(tmp_path):
    text = ("title: T\n" + SHOT + "  - id: s02\n    prompt: b\n"
            "music:\n  - id: m\n    prompt: x\n    start: s02\n    end: s01\n")
    with pytest.raises(FilmError, match="ends at `s01`, before it starts at `s02`"):
        load(tmp_path, text)


def test_a_films_plain_dict_is_asdicts_value_for_value(tmp_path):
    """film_spec's version hashes this dict: it must be exactly what dataclasses.asdict gives."""
    import collections
    import dataclasses

    from film_pipeline.specs import as_plain_dict

    for text in (MINI_FILM, (REPO / "data" / "films" / "demo" / "film.yaml").read_text()):
        film = load_film(write_film(tmp_path / str(len(text)), text))
        assert as_plain_dict(film) == dataclasses.asdict(film)
        assert json.dumps(as_plain_dict(film), default=str) == json.dumps(dataclasses.asdict(film), default=str)

    @dataclasses.dataclass
    class Inner:
        x: float

    @dataclasses.dataclass
    class Outer:
        point: collections.namedtuple("Point", "a b")
        table: collections.OrderedDict
        items: tuple
        path: Path

    Point = collections.namedtuple("Point", "a b")
    odd = Outer(Point(1, Inner(2.5)), collections.OrderedDict({"k": [Inner(1.0)]}), (Inner(0.5), "s"), Path("/x"))
    made, expected = as_plain_dict(odd), dataclasses.asdict(odd)
    assert made == expected and type(made["point"]) is Point and type(made["table"]) is collections.OrderedDict
