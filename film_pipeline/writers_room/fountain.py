"""A Fountain screenplay becomes a draft film: scenes give places and times, action gives shots,
dialogue gives narration and voices, transitions give the cuts.

Parsing is fountain-py's (`fountain.FountainParser`): every element with its source line, the
emphasis stripped, notes, boneyard, dual dialogue and character extensions handled. Around it:
  - line ends are made `\\n` first (the parser reads a lone `\\r` as a "two spaces" line);
  - a scene heading with no blank line after it, `CUT TO:` with trailing spaces and a shared cue
    (`BRICK/STEEL`) are read as what the writer meant, with a warning naming the line;
  - anything the importer cannot place is a warning naming the line, never an error.

The mapping (README, "Writing a film"):
  - title page: `title` (emphasis stripped, lines joined); the author, source and draft date in a comment;
  - scene heading: starts a scene; its place and time of day ("brick's patio, day") lead every
    prompt of the scene's shots; a scene with no action still gets one establishing shot;
  - action paragraph: a shot (its words are the prompt), camera and motion from its words;
  - dialogue: narration on the shot it follows (parentheticals are not spoken: they name the shot's
    comment, or the prompt of a shot made for the line), in the speaker's voice; a line in another
    voice, or one that would run the shot past 60 s, gets a shot of its own (a long speech is split
    at sentences); V.O./O.S. speakers are heard, not seen;
  - characters: from the cues, described by the action that introduces them in capitals;
  - transitions: the previous shot's `transition` (cut, crossfade, fade);
  - centered text: a title card shot; lyrics: narration;
  - notes, boneyard, sections, synopses, page breaks: left out (sections as comments).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from film_pipeline.film import MAX_DURATION, FilmError, derived_seed
from film_pipeline.writers_room.film_yaml import (
    Draft, DraftShot, Notice, clean_text, round_duration, slug, unique_id)
from film_pipeline.writers_room.cast import CUE_SPLIT, Cast
from film_pipeline.writers_room.voices import profile_voices, reading_seconds, speech_seconds

HEADING = re.compile(r"^(?:INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|INT/EXT|I\s*/\s*E|E\s*/\s*I|INT|EXT|EST)(?:\s*\.|\s)\s*",
                     re.IGNORECASE)
# times of day that change the picture; other heading tails (CONTINUOUS, LATER, SAME) keep the last scene's
TIMES_OF_DAY = ("day", "night", "dawn", "dusk", "morning", "afternoon", "evening", "sunset", "sunrise", "twilight",
                "noon", "midday", "midnight", "late night", "early morning", "late afternoon", "early evening",
                "magic hour", "golden hour", "daybreak", "nightfall", "first light")
SAME_TIME = ("continuous", "later", "moments later", "a moment later", "seconds later", "minutes later", "same",
             "same time", "simultaneous", "cont'd", "contd", "continued")
# extensions of a voice that is heard, not seen (compared by their letters: "O. S." is "OS")
OFFSCREEN = {"VO", "OS", "OC", "OFF", "OFFSCREEN", "OFFCAMERA", "VOICEOVER", "PRELAP", "VOICE"}
HEARD_THROUGH = ("RADIO", "PHONE", "INTERCOM", "SPEAKER", "FILTERED", "RECORDING", "TAPE", "LOUDSPEAKER")
TRANSITION_LINE = re.compile(r"^[A-Z][A-Z\s.'/-]*(?:TO:|TO BLACK\.?|TO WHITE\.?|OUT\.|IN:)$")
FADE_WORDS = ("FADE",)
CROSSFADE_WORDS = ("DISSOLVE", "MIX", "CROSSFADE", "CROSS-FADE", "CROSS FADE", "BURN", "BLEND", "MORPH", "WIPE", "IRIS",
                   "RIPPLE", "MELT", "FLASH TO", "WHITE OUT")
CUT_WORDS = ("CUT", "BACK TO", "INTERCUT", "SMASH", "MATCH", "JUMP")
MOTION_WORDS = (  # a word in the scene or the action -> the preview profile's motion prompt
    (r"\b(rain\w*|drizzl\w*|downpour|storm\w*|wet)\b", "rain"),
    (r"\b(snow\w*|blizzard|sleet|frost)\b", "snow"),
    (r"\b(fire|flames?|burn(s|ing)?|embers?|sparks?|blaz\w+|torch\w*|candles?)\b", "embers"),
    (r"\b(fireflies|firefly)\b", "fireflies"),
    (r"\b(dust\w*|smok\w+|fog\w*|mist\w*|haze|hazy|sand)\b", "dust"),
    (r"\b(flicker\w*|strobe\w*|lightning|neon|flashes|flashing)\b", "flicker"),
    (r"\b(fights?|punch\w*|slam\w*|smack\w*|chases?|chasing|runs?|running|races?|racing|crash\w*|explo\w+|"
     r"shoot\w*|gunfire|struggl\w+|shak\w+|earthquake)\b", "handheld"),
)
CAMERA_WORDS = (  # a word in the action -> a camera move
    (r"\b(looks? up|rises?|rising|climbs?|towers?|soars?|lifts? off|ascend\w*)\b", "tilt_up"),
    (r"\b(looks? down|falls?|falling|drops?|sinks?|dives?|descend\w*|collapses?)\b", "tilt_down"),
    (r"\b(reveal\w*|wide|vast|horizon|skyline|panorama\w*|landscape|alone in)\b", "pull_out"),
    (r"\b(stares?|face|eyes|close on|closer|realiz\w+|notices?|leans? in)\b", "push_in"),
    (r"\b(drives?|driving|speeds? off|runs?|walks?|races?|crosses|follows?|enters?|exits?|flies|flying)\b",
     "pan_right"),
)
CYCLE = ("static", "push_in", "pan_right", "static", "pull_out", "pan_left")
TITLE_KEYS = ("title",)
AUTHOR_KEYS = ("author", "authors", "writer", "writers", "written by")
MAX_NARRATION = MAX_DURATION - 1.0  # seconds of speech one shot holds
MAX_SCRIPT_BYTES = 32 * 2**20


@dataclass
class _Speech:
    """One character's turn: who, how (extensions), the lines and parentheticals, where."""
    names: list[str]          # the cue's character keys (two for `BRICK/STEEL`)
    cue: str                  # as written, e.g. "BRICK (V.O.)"
    line: int
    offscreen: bool
    text: str = ""
    asides: list[str] = field(default_factory=list)  # parentheticals
    lyrics: bool = False


@dataclass
class _Scene:
    number: int
    heading: str | None
    line: int | None
    setting: str           # "brick's patio, day"
    slug: str
    exterior: bool | None  # None: neither INT nor EXT
    shots: list[DraftShot] = field(default_factory=list)


def read_script(path: Path) -> tuple[str, list[Notice]]:
    """The screenplay's text: UTF-8 (with or without a BOM), UTF-16 with a BOM, else Windows-1252 or
    Latin-1 with a warning. A FilmError (naming the file) when it is missing, unreadable or binary."""
    try:
        if not path.exists():
            raise FilmError(path, None, "no such screenplay", "give the path of a Fountain file (.fountain)")
        if path.is_dir():
            raise FilmError(path, None, "is a directory, not a screenplay", "give the path of a Fountain file")
        if not path.is_file():
            raise FilmError(path, None, "is not a regular file", "give the path of a Fountain file (.fountain)")
        if path.stat().st_size > MAX_SCRIPT_BYTES:
            raise FilmError(path, None, f"is {path.stat().st_size // 2**20} MiB, too large for a screenplay",
                            "give a Fountain file (a 120-page feature is about 200 KiB)")
        data = path.read_bytes()
    except FilmError:
        raise
    except OSError as error:
        raise FilmError(path, None, f"cannot be read: {error.strerror or error}",
                        "check the path, and that the file is readable (chmod u+r)") from None
    warnings = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), warnings
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise FilmError(path, None, "is not a text file (it holds NUL bytes)",
                        "export the screenplay as Fountain (plain text, .fountain)")
    try:
        return data.decode("utf-8-sig"), warnings
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        for encoding in ("cp1252", "latin-1"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            warnings.append(Notice(line, f"the file is not UTF-8; read it as {encoding} (save it as UTF-8 to be sure)"))
            return text, warnings
    raise FilmError(path, None, "is not text", "save the screenplay as UTF-8 Fountain")  # pragma: no cover


def import_fountain(text: str, source: str = "screenplay", profile: str = "preview", seed: int | None = None,
                    path: Path | str | None = None) -> Draft:
    """The draft film for a Fountain screenplay's text. `source` names it in the file's comments and
    the title when the title page has none; `path` names it in errors."""
    return _Importer(text, source, profile, seed, path or source).run()


class _Importer:
    def __init__(self, text: str, source: str, profile: str, seed: int | None, path):
        # line ends first: fountain-py splits on "\n" and reads a lone "\r" as a two-space line
        self.text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
        self.source, self.profile, self.path = source, profile, path
        self.seed = seed
        self.voices = profile_voices(profile)
        self.warnings: list[Notice] = []
        self.scenes: list[_Scene] = []
        self.taken: set[str] = set()
        self.cast = Cast(self.voices)
        self.pending: list[str] = []            # comments for the next shot (sections)
        self.last_time: str | None = None
        self.actions: list[tuple[int, str]] = []  # (line, text) of every action, for introductions
        self.action_shots: set[str] = set()       # ids of the shots made from action (their words name the cast)
        self.card_shots: set[str] = set()         # ids of title cards (no one speaks over them)
        self.width = 2                            # digits of scene numbers in shot ids

    # ---- the whole run ----

    def run(self) -> Draft:
        from fountain import ElementType, FountainParser

        self.T = ElementType
        try:
            document = FountainParser().parse(self.text)
        except RecursionError:
            raise FilmError(self.path, None, "nested too deeply to read", "check the screenplay's notes and boneyard") from None
        except Exception as error:  # the parser's own failure on odd input: say so, never a traceback
            raise FilmError(self.path, None, f"the Fountain parser could not read it ({type(error).__name__}: "
                                             f"{str(error)[:200]})", "check the screenplay's syntax") from None
        for issue in document.issues:
            if issue.code != "empty-document":
                self.warn(issue.line_number, issue.message.rstrip(".") + "; read as action"
                          if issue.code == "orphan-character-cue" else issue.message)
        elements = self.flatten(document.elements)
        self.collect_cues(elements)
        headings = sum(1 for e in elements if not isinstance(e, tuple) and e.type == ElementType.SCENE_HEADING)
        self.width = max(2, len(str(headings + 1)))
        self.walk(elements)
        shots = [shot for scene in self.scenes for shot in scene.shots]
        if not shots:
            raise FilmError(self.path, None, "has no scene, action or dialogue to make shots from",
                            "write at least one scene heading (INT. PLACE - DAY) or action paragraph")
        title, header = self.title_page(document.metadata)
        characters = self.cast.characters(shots, self.actions, self.action_shots)
        draft = Draft(title=title, shots=shots, characters=characters, profile=self.profile, header=header,
                      seed=self.seed if self.seed is not None else derived_seed("film", title) % 1000,
                      warnings=self.warnings)
        return draft

    def warn(self, line: int | None, message: str) -> None:
        self.warnings.append(Notice(line, message))

    def flatten(self, elements) -> list:
        """Elements in reading order, dual dialogue unfolded into its two speeches (marked)."""
        out = []
        for element in elements:
            if element.type == self.T.DUAL_DIALOGUE:
                try:
                    left, right = element.dual_dialogue_columns()
                except ValueError:
                    self.warn(element.line_number, "dual dialogue with a missing side; left out")
                    continue
                out.extend(left)
                out.append(("dual", right[0].line_number))
                out.extend(right)
            else:
                out.append(element)
        return out

    def collect_cues(self, elements) -> None:
        for element in elements:
            if not isinstance(element, tuple) and element.type == self.T.CHARACTER:
                name = self.cue_name(element)
                self.cast.expect(name)

    # ---- the title page ----

    def title_page(self, metadata: dict) -> tuple[str, list[str]]:
        values = {str(k).lower().strip(): _plain_lines(str(v)) for k, v in (metadata or {}).items() if v}
        title = ": ".join(values.get("title", []))
        header = []
        if not title:
            stem = Path(self.source).stem if self.source else ""
            title = " ".join(w.capitalize() for w in re.split(r"[\s_-]+", stem) if w) or "Untitled"
            self.warn(None, f"the screenplay has no title page with `Title:`; the title is `{clean_text(title)}`, "
                            f"from the file's name")
        header.append(clean_text(title))
        header.append(f"imported by `film new` from {clean_text(Path(self.source).name)}")
        authors = next((" and ".join(values[k]) for k in AUTHOR_KEYS if values.get(k)), None)
        credit = " ".join(values.get("credit", [])) or "by"
        if authors:
            header.append(f"{credit} {authors}".strip())
        for key, label in (("source", "Source"), ("draft date", "Draft date"), ("date", "Date"),
                           ("copyright", "Copyright"), ("notes", "Notes")):
            if values.get(key):
                header.append(f"{label}: {' '.join(values[key])}")
        header.append("Each shot names the screenplay line it comes from. Edit anything, then `film render` "
                      "this directory: only what changed re-renders.")
        return clean_text(title) or "Untitled", header

    # ---- the body ----

    def walk(self, elements) -> None:
        T = self.T
        self.scene = None
        i, dual_next = 0, False
        while i < len(elements):
            element = elements[i]
            if isinstance(element, tuple):  # ("dual", line): the next speech is said at the same time
                dual_next = True
                i += 1
                continue
            kind, line = element.type, element.line_number
            if kind == T.SCENE_HEADING:
                self.start_scene(element.text, line)
            elif kind == T.ACTION:
                self.action(element.text, line, element.metadata.get("forced") is True)
            elif kind == T.CHARACTER:
                speech, i = self.read_speech(elements, i)
                if speech is not None:
                    self.speak(speech, dual=dual_next)
                dual_next = False
                continue
            elif kind in (T.DIALOGUE, T.PARENTHETICAL):
                if element.text.strip():
                    self.warn(line, f"{kind.value} `{_short(element.text)}` has no character cue above it; left out")
            elif kind == T.TRANSITION:
                self.transition(element.text, line, forced=element.metadata.get("forced") is True)
            elif kind == T.CENTERED:
                texts, first = [element.text], line
                while (i + 1 < len(elements) and not isinstance(elements[i + 1], tuple)
                       and elements[i + 1].type == T.CENTERED and elements[i + 1].line_number == line + 1):
                    i += 1
                    line = elements[i].line_number
                    texts.append(elements[i].text)
                self.title_card(" ".join(texts), first)
            elif kind == T.LYRICS:
                self.speak(_Speech([], "lyrics", line, offscreen=True, text=clean_text(element.text), lyrics=True))
            elif kind == T.SECTION:
                self.pending.append(f"section: {clean_text(element.text)} (line {line})")
            elif kind in (T.NOTE, T.BONEYARD, T.SYNOPSIS, T.PAGE_BREAK, T.TITLE_PAGE):
                pass  # left out, as Fountain means them to be
            else:
                self.warn(line, f"a {getattr(kind, 'value', kind)} element the importer cannot place; left out")
            i += 1
        if self.scene is not None and not self.scene.shots:
            self.establishing_shot(self.scene)

    def read_speech(self, elements, i: int) -> tuple[_Speech | None, int]:
        """The cue at `elements[i]` and its dialogue and parentheticals; the index after them."""
        T = self.T
        cue = elements[i]
        name = self.cue_name(cue)
        extensions = _extensions(cue.metadata.get("extension"))
        speech = _Speech(self.cast.keys_for(name, cue.line_number), clean_text(cue.text + "".join(f" ({e})" for e in extensions)),
                         cue.line_number, offscreen=any(_offscreen(e) for e in extensions))
        spoken = []
        i += 1
        while i < len(elements) and not isinstance(elements[i], tuple) and elements[i].type in (T.DIALOGUE,
                                                                                                T.PARENTHETICAL):
            text = clean_text(elements[i].text)
            if elements[i].type == T.PARENTHETICAL:
                aside = text.strip("() ")
                if aside:
                    speech.asides.append(aside)
            elif text:
                spoken.append(text)
            i += 1
        speech.text = " ".join(spoken)
        if not speech.names:
            return None, i
        return speech, i

    def cue_name(self, cue) -> str:
        name = clean_text(cue.text).rstrip("^").strip()
        name = re.sub(r"\s*\([^)]*\)\s*$", "", name).strip()  # an extension the parser left on the name
        return name

    # ---- scenes and shots ----

    def start_scene(self, heading: str, line: int) -> None:
        if self.scene is not None and not self.scene.shots:
            self.establishing_shot(self.scene)
        heading = clean_text(heading)
        place, time, exterior = parse_heading(heading, self.last_time)
        if time is not None:
            self.last_time = time
        number = len(self.scenes) + (0 if self.scenes and self.scenes[0].number == 0 else 1)
        setting = ", ".join(p for p in (place.lower(), time) if p)
        self.scene = _Scene(number, heading, line, setting, slug(place, limit=32) or "scene", exterior)
        self.scenes.append(self.scene)
        self.pending.append(f"scene {number}, line {line}: {heading}")

    def ensure_scene(self) -> _Scene:
        if self.scene is None:  # action before the first heading: a prologue
            self.scene = _Scene(0, None, None, "", "opening", None)
            self.scenes.append(self.scene)
        return self.scene

    def new_shot(self, prompt: str, line: int, what: str, seconds: float, camera: str | None = None,
                 setting: bool = True, action: bool = False) -> DraftShot:
        scene = self.ensure_scene()
        shot_id = unique_id(f"s{scene.number:0{self.width}d}-{scene.slug}", self.taken)
        prompt = clean_text(prompt)
        if not setting:
            full = prompt
        else:
            full = f"{scene.setting}. {prompt}" if scene.setting and prompt else (prompt or scene.setting or "a scene")
        shot = DraftShot(id=shot_id, prompt=full, duration=round_duration(seconds),
                         camera=camera or camera_for(prompt, scene, len(self.taken)), motion=motion_for(prompt, scene),
                         comment=f"line {line}: {what}", before=self.pending)
        self.pending = []
        scene.shots.append(shot)
        if action:
            self.action_shots.add(shot.id)
        return shot

    def establishing_shot(self, scene: _Scene) -> None:
        self.new_shot("", scene.line or 1, "the scene heading (the scene has no action)", 3.0,
                      camera="pan_right" if scene.exterior else "push_in" if scene.exterior is False else "static")

    def action(self, text: str, line: int, forced: bool) -> None:
        lines = [clean_text(part) for part in text.split("\n")]
        lines = [part for part in lines if part]
        if not lines:
            return
        if not forced and HEADING.match(lines[0]) and lines[0] == lines[0].upper() and re.search(r"[A-Z]", lines[0]):
            if len(lines) > 1:
                self.warn(line, f"`{_short(lines[0])}` reads as a scene heading, but a heading needs a blank line "
                                f"after it; read as one")
            self.start_scene(lines[0], line)
            lines, line = lines[1:], line + 1
            if not lines:
                return
        if not forced and len(lines) == 1 and TRANSITION_LINE.match(lines[0]):
            self.transition(lines[0], line, forced=False)
            return
        if not forced and len(lines) > 1 and self.joint_cue(lines, line):
            return
        prose = " ".join(lines)
        self.actions.append((line, prose))
        self.new_shot(prose, line, "action", reading_seconds(prose), action=True)

    def joint_cue(self, lines: list[str], line: int) -> bool:
        """`BRICK/STEEL` above a line of dialogue: the parser reads it as action; it is a cue of two."""
        head = re.sub(r"\s*\([^)]*\)\s*$", "", lines[0]).rstrip("^ ")
        parts = [p for p in CUE_SPLIT.split(head) if p.strip()]
        if len(parts) < 2 or head != head.upper() or not all(self.cast.is_cue(p) for p in parts):
            return False
        speech = _Speech([self.cast.character(p, line) for p in parts], lines[0], line, offscreen=False)
        for text in lines[1:]:
            if text.startswith("(") and text.endswith(")"):
                speech.asides.append(text.strip("() "))
            else:
                speech.text = f"{speech.text} {text}".strip()
        self.speak(speech)
        return True

    def speak(self, speech: _Speech, dual: bool = False) -> None:
        """The speech as narration: on the current shot when it is in this scene, in the same voice
        and has room; else on shots of its own."""
        voice = self.cast.voice(speech.names[0]) if speech.names else self.voices[0]
        what = f"{speech.cue}, line {speech.line}" + (f" ({'; '.join(speech.asides)})" if speech.asides else "")
        if dual:
            what += ", at the same time"
        chunks = _chunks(speech.text, self.profile) if speech.text else [""]
        for index, chunk in enumerate(chunks):
            shot = self.current_shot_in_scene()
            fits = (shot is not None and shot.id not in self.card_shots
                    and (shot.voice in (None, voice) or not shot.narration or dual)
                    and speech_seconds(_joined(shot.narration, chunk), self.profile) <= MAX_NARRATION)
            if not fits:
                names = " and ".join(self.cast.display(k) for k in speech.names)
                aside = f", {speech.asides[0]}" if speech.asides else ""
                heard = " (heard, not seen)" if speech.offscreen else ""
                what_shot = f"{names}{aside}{heard}" if names else "someone sings"
                shot = self.new_shot(what_shot, speech.line, "lyrics" if speech.lyrics else "dialogue", 0.0,
                                     camera="static")
            if chunk:
                shot.narration = _joined(shot.narration, chunk)
                shot.voice = shot.voice or voice
            if not speech.offscreen:
                for key in speech.names:
                    if key not in shot.characters:
                        shot.characters.append(key)
            shot.narration_comment = (f"{shot.narration_comment}; {what}" if shot.narration_comment else what) \
                if index == 0 else shot.narration_comment
            if shot.narration:
                needed = speech_seconds(shot.narration, self.profile) + 0.5
                shot.duration = round_duration(max(shot.duration, needed))

    def current_shot_in_scene(self) -> DraftShot | None:
        return self.scene.shots[-1] if self.scene is not None and self.scene.shots else None

    def transition(self, text: str, line: int, forced: bool) -> None:
        words = clean_text(text).upper()
        if re.fullmatch(r"FADE IN:?\.?", words):
            shot = self.current_shot_in_scene() or self.last_shot()
            if shot is not None:  # fading in after a picture: the picture before faded out
                shot.transition = "fade"
            return
        kind = ("fade" if any(w in words for w in FADE_WORDS)
                else "crossfade" if any(w in words for w in CROSSFADE_WORDS)
                else "cut" if any(w in words for w in CUT_WORDS) else None)
        if kind is None:
            kind = "cut"
            self.warn(line, f"transition `{_short(text)}` is not one film.yaml has (cut, crossfade, fade); the shot "
                            f"before it cuts")
        shot = self.last_shot()
        if shot is None:
            self.warn(line, f"transition `{_short(text)}` comes before any shot; left out")
            return
        shot.transition = kind
        said = f"{clean_text(text)} (line {line})"
        shot.comment = f"{shot.comment}; then {said}" if shot.comment else said

    def last_shot(self) -> DraftShot | None:
        return next((scene.shots[-1] for scene in reversed(self.scenes) if scene.shots), None)

    def title_card(self, text: str, line: int) -> None:
        text = clean_text(text)
        if not text:
            return
        shot = self.new_shot(f"a title card: the words \u201c{text}\u201d in white letters on black", line,
                             "centered text, a title card", min(6.0, 1.5 + reading_seconds(text)), camera="static",
                             setting=False)
        self.card_shots.add(shot.id)

    # ---- the cast ----

# ---- helpers ----------------------------------------------------------------------------------

def parse_heading(heading: str, last_time: str | None = None) -> tuple[str, str | None, bool | None]:
    """(place, time of day, exterior?) of `EXT. BRICK'S PATIO - DAY`: ("BRICK'S PATIO", "day", True).
    A heading that keeps the time (CONTINUOUS, SAME) gets `last_time`, the scene before's."""
    match = HEADING.match(heading)
    prefix = match.group(0).upper() if match else ""
    exterior = ("EXT" in prefix and "INT" not in prefix) if prefix and "EST" not in prefix else (
        True if prefix.startswith("EST") else None)
    rest = heading[match.end():] if match else heading
    parts = [p.strip(" .,") for p in re.split(r"\s+[-–—]+\s*|\s*[-–—]+\s+|\s+--\s*", rest) if p.strip(" .,")]
    time = None
    if len(parts) > 1:
        tail = re.sub(r"\s*\(.*?\)\s*", " ", parts[-1]).strip().lower()
        if tail in TIMES_OF_DAY or any(tail.startswith(t + " ") for t in TIMES_OF_DAY):
            time = tail
            parts = parts[:-1]
        elif tail in SAME_TIME or any(tail.startswith(t) for t in SAME_TIME):
            time = last_time
            parts = parts[:-1]
    place = ", ".join(parts) or rest.strip() or heading
    return place, time, exterior


def camera_for(prose: str, scene: _Scene, made: int) -> str:
    """A move from the action's words (looks up: tilt up; runs: a pan), else from a cycle; the
    scene's first shot establishes (a pan outside, a push in inside); never the same move twice running.
    `made`: how many shots the film has so far (it turns the cycle)."""
    if not prose:
        return "static"
    if not scene.shots:
        return "pan_right" if scene.exterior else "push_in" if scene.exterior is False else "static"
    lowered = prose.lower()
    camera = next((camera for pattern, camera in CAMERA_WORDS if re.search(pattern, lowered)), None)
    if camera == "pan_right" and made % 2:
        camera = "pan_left"
    camera = camera or CYCLE[made % len(CYCLE)]
    previous = scene.shots[-1].camera
    if camera == previous:
        camera = next(c for c in CYCLE[made % len(CYCLE):] + CYCLE if c != previous)
    return camera


def motion_for(prose: str, scene: _Scene) -> str | None:
    words = f"{scene.heading or ''} {prose}".lower()
    found = [motion for pattern, motion in MOTION_WORDS if re.search(pattern, words)]
    return ", ".join(found[:2]) or None


def _offscreen(extension: str) -> bool:
    letters = re.sub(r"[^A-Z]", "", extension.upper())
    return letters in OFFSCREEN or any(word in letters for word in HEARD_THROUGH)


def _extensions(raw) -> list[str]:
    if not raw or not isinstance(raw, str):
        return []
    return [clean_text(part).strip("() ") for part in re.split(r"\)\s*\(", raw) if clean_text(part).strip("() ")]


def _short(text: str, limit: int = 60) -> str:
    text = clean_text(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _plain_lines(value: str) -> list[str]:
    """A title-page value's lines, emphasis and notes stripped."""
    from fountain import FountainParser

    out = []
    for line in value.split("\n"):
        line = line.strip()
        if not line:
            continue
        try:
            elements = FountainParser().parse("!" + line).elements
            text = elements[0].text if elements else line
        except Exception:  # noqa: BLE001 - a title is never worth failing the import for
            text = re.sub(r"(\*{1,3}|_)(.+?)\1", r"\2", line)
        text = clean_text(text)
        if text:
            out.append(text)
    return out


def _joined(narration: str | None, more: str) -> str:
    """Narration with `more` said after it (a full stop between lines that have none)."""
    if not narration:
        return more
    if not more:
        return narration
    return f"{narration}{'' if re.search(r'[.!?…:;-]$', narration) else '.'} {more}"


def _chunks(text: str, profile: str) -> list[str]:
    """The speech in pieces one shot can hold (at sentence ends; words when a sentence is too long)."""
    if speech_seconds(text, profile) <= MAX_NARRATION:
        return [text]
    sentences = re.split(r"(?<=[.!?…])\s+", text)
    pieces, current = [], ""
    for sentence in sentences:
        candidate = f"{current} {sentence}".strip()
        if current and speech_seconds(candidate, profile) > MAX_NARRATION:
            pieces.append(current)
            candidate = sentence
        while speech_seconds(candidate, profile) > MAX_NARRATION:  # one sentence too long: cut at words
            words, head = candidate.split(), ""
            while words and speech_seconds(f"{head} {words[0]}".strip(), profile) <= MAX_NARRATION:
                head = f"{head} {words.pop(0)}".strip()
            if not head:  # one enormous "word"
                head, words = candidate[:600], [candidate[600:]] if candidate[600:] else []
            pieces.append(head)
            candidate = " ".join(words)
        current = candidate
    if current:
        pieces.append(current)
    return pieces
