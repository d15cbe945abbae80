"""film.yaml read through libyaml gives exactly what ruamel.yaml's round-trip loader gives (every
data version depends on it), or hands the document back to ruamel."""

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from film_pipeline import film as film_module
from film_pipeline.film import FilmError, load_film
from film_pipeline.yaml_reader import NotFast, fast_load

REPO = Path(__file__).resolve().parents[2]


def plain(value):
    """A loaded value with its kinds spelled out (True is not 1, NaN equals NaN)."""
    if isinstance(value, dict):
        return {"map": [(plain(k), plain(v)) for k, v in value.items()]}
    if isinstance(value, list):
        return {"seq": [plain(v) for v in value]}
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else repr(float(value)))
    if isinstance(value, int):
        return ("int", int(value))
    assert isinstance(value, str), type(value)
    return ("str", str(value))


def same_as_ruamel(text: str) -> bool:
    """True when the fast reader agrees with ruamel; NotFast (handing it back) agrees by definition."""
    try:
        fast = fast_load(text)
    except NotFast:
        return True
    try:
        slow = YAML(typ="rt").load(text)
    except Exception:  # ruamel refuses what libyaml took: film.yaml would load where it failed before
        return False
    return plain(fast) == plain(slow)


SCALARS = ["yes", "no", "on", "off", "y", "n", "true", "False", "TRUE", "tRue", "null", "Null", "~", "",
           "010", "0o17", "0x1F", "0b101", "1_000", "+12", "-0", "1e3", "1.5e-3", "6.", ".5", ".inf", "-.Inf",
           ".nan", ".NaN", "1:30", "190:20:30", "2024-01-01", "12:30:00", "3", "2.5", "0", "00", "0.0",
           "s01", "a: b", "#x", "it's", "with # hash", "=", "<<", "@x", "`x`", "%x", "|", ">", "- x",
           "x\ty", "é", "1,000", "0xg", "0o8", "1__0", "_1", "1_", "+.5", "-1.0e+10", "1e", "e3"]


def styled(value: str) -> st.SearchStrategy[str]:
    """The value written plain, single- or double-quoted, or as a block scalar."""
    double = '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'
    return st.sampled_from([value, "'" + value.replace("'", "''") + "'", double, "|\n    " + value,
                            ">-\n    " + value])


@st.composite
def documents(draw) -> str:
    lines = []
    for index in range(draw(st.integers(1, 6))):
        value = draw(st.sampled_from(SCALARS) | st.text(st.sampled_from("0123456789+-._eExXoObB:nNtTfFyY~ a#"),
                                                            max_size=8))
        written = draw(styled(value))
        shape = draw(st.sampled_from(["key", "item", "flow"]))
        if shape == "key":
            lines.append(f"k{index}: {written}")
        elif shape == "item":
            lines.append(f"k{index}:\n  - {written}\n  - id: {written}")
        else:
            lines.append(f"k{index}: [{written}, {{a: {written}}}]")
    return "\n".join(lines) + "\n"


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(documents())
def test_every_scalar_reads_as_ruamel_reads_it(text):
    assert same_as_ruamel(text), text


@pytest.mark.parametrize("value", SCALARS)
def test_each_plain_scalar_reads_as_ruamel_reads_it(value):
    assert same_as_ruamel(f"a: {value}\nb: [{value}]\n") or value in ("- x", "|", ">")


@pytest.mark.parametrize("text", [
    "%YAML 1.1\n---\na: yes\n",           # a directive: 1.1 would make `yes` true
    "a: 1\na: 2\n",                       # ruamel refuses a duplicate key
    "base: &b {x: 1}\nc:\n  <<: *b\n",    # a merge key
    "a: !!binary aGk=\n",                 # a tag outside the core schema
    "a: 2024-01-01\n",                    # a timestamp
    "a: [1\n",                            # a syntax error: ruamel says where
    "a: x\u2028b\n",                      # a line break YAML 1.1 reads and 1.2 does not
    "a: x\ty\n",                          # a tab, which ruamel refuses where libyaml takes it
    "? [a, b]\n: c\n",                    # a key that is not a plain value
    "a: 1\n---\nb: 2\n",                  # two documents
])
def test_what_it_cannot_read_for_certain_goes_back_to_ruamel(text):
    with pytest.raises(NotFast):
        fast_load(text)


def test_every_film_in_the_repository_loads_the_same_either_way(monkeypatch):
    films = sorted(REPO.glob("data/films/*/film.yaml")) + sorted(REPO.glob("film_pipeline_tests/**/film.yaml"))
    assert films
    for path in films:
        film_module._LAST_LOADED.clear()
        fast = load_film(path)
        text = path.read_text()
        slow = film_module._load_with_lines(path, fast.path, text)
        assert fast == slow, path


def test_a_bad_film_still_gets_ruamels_line(tmp_path):
    path = tmp_path / "film.yaml"
    path.write_text("title: T\nshots:\n  - id: s1\n    prompt: p\n    duration: long\n")
    with pytest.raises(FilmError) as error:
        load_film(path)
    assert "film.yaml:5" in str(error.value) and "duration" in str(error.value)


def test_a_film_read_twice_in_one_process_is_parsed_once_and_an_edit_is_seen(tmp_path):
    path = tmp_path / "film.yaml"
    path.write_text("title: T\nshots:\n  - id: s1\n    prompt: a lamp\n")
    first = load_film(path)
    assert load_film(path) is first
    path.write_text("title: T\nshots:\n  - id: s1\n    prompt: a lamp, lit\n")
    assert load_film(path).shots[0].prompt == "a lamp, lit"


def test_without_libyaml_ruamel_reads_every_film(tmp_path, monkeypatch):
    from film_pipeline import yaml_reader

    monkeypatch.setattr(yaml_reader, "CParser", None)
    with pytest.raises(NotFast):
        fast_load("a: 1\n")
    path = tmp_path / "film.yaml"
    path.write_text("title: T\nshots:\n  - id: s1\n    prompt: a lamp\n")
    assert load_film(path).shots[0].prompt == "a lamp"
