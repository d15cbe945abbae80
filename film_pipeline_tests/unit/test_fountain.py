"""The writers' room without a render: Fountain screenplays become drafts and commented film.yaml
files `load_film` accepts; the logline writer's checks and fallbacks; `film new`'s file handling."""

import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from film_pipeline.film import CAMERAS, MAX_DURATION, SHOT_ID, TRANSITIONS, FilmError, load_film
from film_pipeline.writers_room import new_film
from film_pipeline.writers_room.film_yaml import MIN_DURATION, to_yaml
from film_pipeline.writers_room.fountain import import_fountain, read_script
from film_pipeline.writers_room.logline import (
    content_words, draft_from_logline, film_title, main_character, picture, proper_names, spoken_line, subject_of,
    with_subject)

SCREENPLAYS = Path(__file__).resolve().parents[1] / "screenplays"
EVERY = (SCREENPLAYS / "every_element.fountain").read_text()
LAMP = (SCREENPLAYS / "lamplighter.fountain").read_text()


def written(draft, tmp_path: Path, name: str = "film"):
    """The draft as film.yaml on disk, loaded as the pipeline loads it."""
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "film.yaml").write_text(to_yaml(draft), encoding="utf-8")
    return load_film(folder), (folder / "film.yaml").read_text()


def shot_with(draft, words: str):
    return next(s for s in draft.shots if words in s.prompt)


# ---- Fountain --------------------------------------------------------------------------------

def test_every_element_imports_to_a_film_that_loads(tmp_path):
    draft = import_fountain(EVERY, "every_element.fountain")
    film, text = written(draft, tmp_path)
    assert film.title == "THE NIGHT FERRY: a test reel"  # emphasis gone, the title's two lines joined
    assert "# Written by Ada Quill" in text  # the author in a comment
    assert len(film.shots) == len(draft.shots) >= 6
    ids = [s.id for s in film.shots]
    assert len(set(ids)) == len(ids) and all(SHOT_ID.match(i) for i in ids)
    assert ids[0] == "s01-harbour-pier"
    for shot in film.shots:
        assert MIN_DURATION <= shot.duration <= MAX_DURATION
        assert shot.camera in CAMERAS and shot.transition in TRANSITIONS
    everything = " ".join(f"{s.prompt} {s.narration or ''}" for s in film.shots)
    # notes, boneyard, sections, synopses and page breaks are left out; markup is stripped
    for gone in ("Is the rain too much", "LOST SCENE", "Nobody will see", "Act One", "captain", "===", "*", "_",
                 "[[", "/*"):
        assert gone not in everything.replace("2*3", ""), gone
    assert "2*3 coins" in everything  # an escaped star is a star
    assert "The old radio crackles. A bold, underlined warning light blinks" in everything


def test_every_shot_names_its_source_line(tmp_path):
    _, text = written(import_fountain(EVERY, "every_element.fountain"), tmp_path)
    lines = EVERY.split("\n")
    for match in re.finditer(r"- id: \S+  # line (\d+): (action|lyrics|dialogue|centered text)", text):
        source = lines[int(match.group(1)) - 1]
        assert source.strip(), match.group(0)  # the line named is the shot's own, not a blank one
    assert "# line 19: action" in text and "Rain on black water" in lines[18]
    assert "# scene 1, line 17: EXT. HARBOUR PIER - NIGHT" in text


def test_scene_headings_give_place_and_time_to_every_prompt():
    draft = import_fountain(EVERY, "x.fountain")
    assert shot_with(draft, "Rain on black water").prompt.startswith("harbour pier, night. Rain on black water.")
    # a lower-case heading, CONTINUOUS: the place, and the time of day of the scene before
    assert shot_with(draft, "old radio").prompt.startswith("ferry wheelhouse, night. ")
    assert shot_with(draft, "June swims").prompt.startswith("open sea, dawn. ")
    brick = import_fountain("EXT. BRICK'S PATIO - DAY\n\nA gorgeous day.\n", "b.fountain")
    assert brick.shots[0].prompt == "brick's patio, day. A gorgeous day."
    assert brick.shots[0].id == "s01-brick-patio"


def test_dialogue_is_narration_with_the_profile_voice():
    draft = import_fountain(EVERY, "x.fountain")
    pier = draft.shots[0]
    # parentheticals are not spoken; a two-space line keeps the speech going; the O.S. bosun is heard
    assert pier.narration == "Hold the ferry! Please! She's gone, June. Gone. Then I'll swim."
    assert pier.voice == "narrator"  # preview: one Piper voice
    assert pier.characters == ["june"]  # the bosun (O.S.) is heard, not seen
    assert "breathless" in pier.narration_comment and "BOSUN (O.S.), line 28" in pier.narration_comment
    # dual dialogue: both sides spoken on one shot, both speakers in it
    radio = shot_with(draft, "THE RADIO GOES SILENT")
    assert radio.narration == "Anyone there? Here!"
    assert set(radio.characters) == {"mctavish", "june"}
    assert "at the same time" in radio.narration_comment
    # lyrics are sung narration
    assert any(s.narration == "Down, down, the lantern goes." for s in draft.shots)


def test_characters_come_from_cues_described_by_their_introduction():
    draft = import_fountain(LAMP, "lamplighter.fountain")
    assert list(draft.characters) == ["mara", "bolt"]
    mara, bolt = draft.characters["mara"], draft.characters["bolt"]
    assert mara.description == ("Mara Voss, 70, the last lamplighter of the coast, a red scarf wrapped twice around "
                                "her neck")
    assert bolt.description == "Bolt, a small silver robot with a blue lamp for a head"
    again = import_fountain(LAMP.replace("Sam Reyes", "Someone Else"), "other.fountain", seed=99)
    assert again.characters["mara"].seed == mara.seed and 0 <= mara.seed < 2**31  # stable seeds
    # cues that are never introduced in capitals keep their name, and the comment says so
    every = import_fountain(EVERY, "x.fountain")
    assert every.characters["june"].description.startswith("June Okafor, 30s, a ferry pilot")
    assert every.characters["bosun"].description == "Bosun" and "never introduced" in every.characters["bosun"].comment
    # action naming a character puts them in the shot
    assert shot_with(draft, "Mara winds the clockwork").characters == ["mara"]


def test_extensions_and_shared_cues():
    text = ("INT. ROOM - DAY\n\nBRICK sits. STEEL stands.\n\nBRICK (V.O.) (CONT'D)\nHi.\n\nSTEEL (on the radio)\n"
            "Over.\n\nBRICK/STEEL\nTogether.\n")
    draft = import_fountain(text, "x.fountain")
    assert set(draft.characters) == {"brick", "steel"}
    shot = draft.shots[0]
    assert shot.narration == "Hi. Over. Together."
    assert shot.characters == ["brick", "steel"]  # named in the action; the shared cue is both


def test_transitions_set_the_shot_before():
    draft = import_fountain(EVERY, "x.fountain")
    by_line = {int(re.search(r"line (\d+)", s.comment).group(1)): s for s in draft.shots}
    assert by_line[19].transition == "cut"          # CUT TO:
    assert by_line[45].transition == "cut"          # > WHIP PAN TO: is no transition film.yaml has
    assert by_line[64].transition == "crossfade"    # > DISSOLVE TO: (forced)
    assert by_line[70].transition == "crossfade"    # > BURN TO WHITE.
    assert draft.shots[-1].transition == "fade"     # FADE OUT.
    unknown = [w for w in draft.warnings if "WHIP PAN" in w.message]
    assert len(unknown) == 1 and unknown[0].line == 54  # a transition film.yaml lacks: a warning naming its line


def test_centered_text_is_a_title_card():
    draft = import_fountain(EVERY, "x.fountain")
    card = draft.shots[-1]
    assert "THE END" in card.prompt and card.camera == "static" and not card.narration
    opening = import_fountain("INT. A - DAY\n\nA room.\n\n> BRICK BRADDOCK <\n> & DICK STEEL IN <\n", "x.fountain")
    assert len(opening.shots) == 2 and "BRICK BRADDOCK & DICK STEEL IN" in opening.shots[1].prompt


def test_crlf_and_tabs_read_like_lf():
    plain = to_yaml(import_fountain(EVERY, "x.fountain"))
    assert to_yaml(import_fountain(EVERY.replace("\n", "\r\n"), "x.fountain")) == plain
    assert to_yaml(import_fountain(EVERY.replace("\n", "\r"), "x.fountain")) == plain
    tabbed = "INT. ROOM - DAY\n\nDAN\n\t\t(quietly)\n\tThen let's retire them.\n\t_Permanently_.\n\n\t\t\t\tCUT TO:\n"
    draft = import_fountain(tabbed.replace("\n", "\r\n"), "x.fountain")
    assert draft.shots[0].narration == "Then let's retire them. Permanently." and draft.shots[0].transition == "cut"


def test_durations_follow_the_words_and_stay_within_limits():
    short = import_fountain("EXT. A - DAY\n\nRain.\n", "x.fountain").shots[0]
    assert short.duration == MIN_DURATION
    speech = "This is a sentence that takes a while to say out loud. " * 4
    talky = import_fountain(f"EXT. A - DAY\n\nRain.\n\nJO\n{speech}\n", "x.fountain").shots[0]
    assert talky.duration > len(speech) / 15  # as long as the voice needs
    monologue = " ".join(f"Sentence number {i} of a speech that goes on and on and on." for i in range(120))
    draft = import_fountain(f"EXT. A - DAY\n\nRain.\n\nJO\n{monologue}\n", "x.fountain")
    assert len(draft.shots) > 3 and all(s.duration <= MAX_DURATION for s in draft.shots)
    assert " ".join(s.narration for s in draft.shots if s.narration) == monologue.strip()


def test_what_the_importer_cannot_place_is_a_warning_naming_the_line():
    text = ("> FADE TO GREY.\n\nEXT. YARD - DAY\nA dog barks.\n\n> SLIDE LEFT\n\n/* open\n\nMore.\n")
    draft = import_fountain(text, "x.fountain")
    said = {(w.line, w.message.split(" ")[0]) for w in draft.warnings}
    assert (3, "`EXT.") in said  # a heading without its blank line after: read as one, with a warning
    assert any(w.line == 6 and "SLIDE LEFT" in w.message for w in draft.warnings)
    assert any(w.line == 8 and "oneyard" in w.message for w in draft.warnings)
    assert draft.shots[0].prompt == "yard, day. A dog barks."


def test_no_title_page_takes_the_file_name_and_an_empty_script_is_an_error(tmp_path):
    draft = import_fountain("INT. A - DAY\n\nX.\n", "the-night_ferry.fountain")
    assert draft.title == "The Night Ferry" and any("title" in w.message for w in draft.warnings)
    with pytest.raises(FilmError, match="no scene, action or dialogue"):
        import_fountain("Title: Nothing\nAuthor: Nobody\n\n[[just a note]]\n", "x.fountain")


def test_reading_a_script_file(tmp_path):
    latin = tmp_path / "latin.fountain"
    latin.write_bytes("INT. CAFÉ - DAY\n\nZoë waits.\n".encode("cp1252"))
    text, warnings = read_script(latin)
    assert "CAFÉ" in text and warnings and "not UTF-8" in warnings[0].message
    bom = tmp_path / "bom.fountain"
    bom.write_bytes(b"\xef\xbb\xbfTitle: T\n\nINT. A - DAY\n\nX.\n")
    assert import_fountain(read_script(bom)[0], "bom.fountain").title == "T"
    for bad, message in ((tmp_path / "none.fountain", "no such screenplay"), (tmp_path, "is a directory"),
                         (Path("/dev/zero"), "not a regular file")):
        with pytest.raises(FilmError, match=message):
            read_script(bad)
    binary = tmp_path / "script.pdf"
    binary.write_bytes(b"%PDF-1.4\x00\x01\x02")
    with pytest.raises(FilmError, match="not a text file"):
        read_script(binary)


def test_a_feature_length_script_imports_in_seconds(tmp_path):
    """About 120 pages (6000 lines, 100+ scenes, dozens of speaking parts)."""
    body = LAMP.split("FADE IN:", 1)[1]
    scenes = [body.replace("MARA", f"MARA{i % 40}").replace("Mara", f"Mara{i % 40}").replace("BOLT", f"BOLT{i % 25}")
              .replace("LIGHTHOUSE", f"LIGHTHOUSE {i}") for i in range(110)]
    text = "Title: Long\nAuthor: Someone\n\n" + "".join(scenes)
    assert len(text.splitlines()) > 6000
    start = time.monotonic()
    draft = import_fountain(text, "long.fountain")
    film, _ = written(draft, tmp_path)
    took = time.monotonic() - start
    assert len(film.shots) > 800 and len(film.characters) == 65
    assert took < 30, f"{took:.1f} s"  # about 3 s on an idle 2-core machine
    assert film.shots[-1].id.startswith("s550-")  # more than 99 scenes: three-digit scene numbers


FOUNTAINISH = st.lists(st.one_of(
    st.sampled_from(["", "  ", "INT. ROOM - DAY", "EXT. SEA - NIGHT #2#", ".FORCED", "JOHN", "JOHN (V.O.)", "MARY ^",
                     "@mc", "(beat)", "Hello.", "CUT TO:", "> FADE OUT.", ">CENTER<", "[[note", "]]", "/*", "*/",
                     "# Act", "= synopsis", "===", "~la la", "!FORCED ACTION", "Title: X", "\t\tIndented.",
                     "A *b* **c** _d_ \\*", "FADE IN:", "INT./EXT. CAR - MOVING - DAWN", "BRICK/STEEL", "\x0c",
                     "\u202e", "\ud800", "é" * 300]),
    st.text(max_size=40)), max_size=30)


@settings(derandomize=True, database=None, deadline=None, max_examples=150,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=FOUNTAINISH, ending=st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_text_imports_to_a_valid_film_or_says_why(tmp_path_factory, lines, ending):
    text = ending.join(lines)
    try:
        draft = import_fountain(text, "fuzz.fountain")
    except FilmError as error:
        assert "no scene, action or dialogue" in str(error)
        return
    film, _ = written(draft, tmp_path_factory.mktemp("fuzz"))
    assert len(film.shots) == len(draft.shots)


# ---- the logline's checks and fallbacks -----------------------------------------------------

LOGLINE = "A lighthouse keeper and her robot guard the last light on the coast through one long night."


def test_free_text_from_the_model_is_checked_and_repaired():
    words = content_words(LOGLINE)
    assert picture(" the scene of a storm over black rocks, waves breaking white.", words, []) == \
        "a storm over black rocks, waves breaking white."
    assert picture(" a wide view", words, []) is None  # too short
    assert picture(" In shot 2 of 4, the camera pans across the screen", words, []) is None  # talk about the film
    assert picture(" a storm over black rocks, waves breaking white.", words,
                   ["a storm over black rocks with waves breaking white"]) is None  # the shot before, again
    assert picture(" rain hammers the lamp room, and the keeper, her hands shaking, lights the", words, []) == \
        "rain hammers the lamp room, and the keeper, her hands shaking"  # cut off: to its last comma
    assert spoken_line('The light must not go out." she said', []) == "The light must not go out."
    assert spoken_line("12345 6789 ####", []) is None
    assert spoken_line("The final beam of light, the last one, the last one, the last one.", []) is None  # a loop
    assert picture(" a guard, a spaceship, a light, a guard, a light, a creature, a creature.", words, []) is None
    assert film_title(" **The Last Light**") == "The Last Light"
    assert film_title("1010: The Last Light on the") is None  # cut off
    assert main_character(" the chef with the biggest ego", "Two rival chefs are trapped in a diner.") == "chefs"
    assert main_character(" Captain Zorg", LOGLINE) is None  # not the logline's words


def test_the_writers_words_are_kept():
    assert subject_of(LOGLINE) == "A lighthouse keeper and her robot guard the last light"
    assert with_subject("A lighthouse keeper", "waves on black rocks") == "A lighthouse keeper: waves on black rocks"
    assert with_subject("A lighthouse keeper", "the lighthouse keeper climbs") == "the lighthouse keeper climbs"
    assert proper_names("Mara, an old sailor, and her dog Pip race a storm home.") == [
        ("Mara", "Mara, an old sailor"), ("Pip", "Pip, her dog")]


class Garbage:
    """A language model that answers nonsense: every field must fall back, the film still loads."""

    def generate(self, prompt, prefill, max_new_tokens, seed):
        return ["", "\x00\x01 ### ```", "shot shot shot camera", "ñ" * 500, ":", "\n\n\n"][seed % 6]

    def choose(self, prompt, options):
        return 99  # out of range: the default is used


class Seeded:
    """A model whose answers depend only on the seed (as a sampling model's do)."""

    def generate(self, prompt, prefill, max_new_tokens, seed):
        if prefill.startswith("Title"):
            return f" Night Number {seed % 7}"
        if prefill.startswith("The main"):
            return " the keeper"
        places = ["black rocks", "a red lamp", "the tower stairs", "a grey dawn", "the harbour", "the fog bank"]
        return f" {places[seed % 6]} under {places[(seed // 6) % 6]}, waves breaking white."

    def choose(self, prompt, options):
        return len(prompt) % len(options)


class Broken:
    """A language model that fails outright."""

    def generate(self, prompt, prefill, max_new_tokens, seed):
        raise RuntimeError("out of memory")

    choose = generate


@pytest.mark.parametrize("model", [None, Garbage(), Seeded(), Broken()], ids=["no model", "garbage", "seeded", "broken"])
def test_a_logline_always_makes_a_film_that_loads(tmp_path, model):
    draft = draft_from_logline(LOGLINE, 5, 3, "preview", "Keeper", model)
    film, text = written(draft, tmp_path)
    assert film.logline == LOGLINE and len(film.shots) == 5
    assert film.shots[-1].transition == "fade"
    for shot in film.shots:
        assert set(content_words(shot.prompt)) & set(content_words(LOGLINE))  # the writer's words in every prompt
        assert 2.5 <= shot.duration <= 8
    assert "keeper" in film.characters


def test_a_logline_film_is_the_same_for_the_same_seed():
    first = to_yaml(draft_from_logline(LOGLINE, 3, 11, "preview", "K", Seeded()))
    assert to_yaml(draft_from_logline(LOGLINE, 3, 11, "preview", "K", Seeded())) == first
    assert to_yaml(draft_from_logline(LOGLINE, 3, 12, "preview", "K", Seeded())) != first


# ---- film new: never over an existing film --------------------------------------------------

def test_new_film_never_overwrites_and_force_keeps_a_backup(tmp_path):
    folder = tmp_path / "films" / "night-ferry"
    made = new_film(folder)
    assert made.source == "template" and load_film(folder).title == "Night Ferry"
    (folder / "film.yaml").write_text((folder / "film.yaml").read_text() + "# my edit\n")
    with pytest.raises(FilmError, match="already exists"):
        new_film(folder, script=SCREENPLAYS / "lamplighter.fountain")
    assert (folder / "film.yaml").read_text().endswith("# my edit\n")
    replaced = new_film(folder, script=SCREENPLAYS / "lamplighter.fountain", force=True)
    assert replaced.backup is not None and replaced.backup.read_text().endswith("# my edit\n")
    assert replaced.backup.name.startswith("film.yaml.bak-")
    assert load_film(folder).title == "The Lamplighter"
    again = new_film(folder, force=True)
    assert again.backup != replaced.backup and replaced.backup.exists()  # every backup is kept
    assert [p.name for p in folder.iterdir() if p.name.startswith(".film-new")] == []


def test_new_film_refuses_bad_places_and_arguments(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "dirfilm" / "film.yaml").mkdir(parents=True)
    for folder, args, message in (
            (tmp_path / "notes.txt", {}, "is a file, not a directory"),
            (tmp_path / "notes.txt" / "film", {}, "is a file, not a directory"),
            (tmp_path / "dirfilm", {"force": True}, "is a directory, not a file"),
            (tmp_path / ("x" * 300), {}, "cannot write"),
            (tmp_path / "a", {"shots": 3}, "--shots is for --logline"),
            (tmp_path / "a", {"logline": " \x07 "}, "the logline has no words"),
            (tmp_path / "a", {"logline": "x", "shots": 0}, "outside 1..20"),
            (tmp_path / "a", {"seed": -1}, "outside 0..")):
        with pytest.raises(FilmError, match=re.escape(message)):
            new_film(folder, **args)
    assert not (tmp_path / "a").exists()


def test_the_template_is_commented_and_loads(tmp_path):
    new_film(tmp_path / "café \udcff", seed=5, profile="tiny")
    film = load_film(tmp_path / "café \udcff")
    assert film.profile == "tiny" and film.seed == 5 and len(film.shots) == 3
    text = (tmp_path / "café \udcff" / "film.yaml").read_text(encoding="utf-8", errors="surrogateescape")
    assert text.count("#") > 15 and "film render" in text
    doc = YAML().load(text)
    assert doc["shots"][0]["voice"] == "narrator"
