"""The cast of a screenplay: a character key and a voice for each name on its first cue (`BRICK/STEEL`
is two), a description from the action that first names them in capitals ("BRICK BRADDOCK, retired
police detective, sits" -> "Brick Braddock, retired police detective"), and the action shots whose
words name them. fountain.py's importer asks it as it reads the screenplay."""

import re

from film_pipeline.film import derived_seed
from film_pipeline.writers_room.film_yaml import DraftCharacter, DraftShot, clean_text

CUE_SPLIT = re.compile(r"\s*(?:/|&|\bAND\b)\s*")


class Cast:
    def __init__(self, voices: list[str]):
        self.voices = voices
        self.people: dict[str, dict] = {}      # key -> {"name", "display", "line", "voice"}
        self.cue_names: dict[str, str] = {}    # normalized cue -> key ("" until its first line)

    def expect(self, name: str) -> None:
        """A name the screenplay uses as a cue somewhere (a joint cue's parts must be such names)."""
        if name and _norm(name) not in self.cue_names:
            self.cue_names[_norm(name)] = ""

    def is_cue(self, name: str) -> bool:
        return _norm(name) in self.cue_names

    def voice(self, key: str) -> str:
        return self.people[key]["voice"]

    def display(self, key: str) -> str:
        return self.people[key]["display"]

    def keys_for(self, name: str, line: int) -> list[str]:
        """The character keys a cue names: one, or each of `BRICK/STEEL` when all are cues of their own."""
        parts = [p for p in CUE_SPLIT.split(name.upper()) if p.strip()]
        if len(parts) > 1 and all(_norm(p) in self.cue_names and _norm(p) != _norm(name) for p in parts):
            return [self.character(p, line) for p in parts]
        return [self.character(name, line)] if name else []

    def character(self, name: str, line: int) -> str:
        """The character key for a cue name (made on its first line)."""
        norm = _norm(name)
        key = self.cue_names.get(norm)
        if key:
            return key
        base = _key(name) or f"character-{len(self.people) + 1}"
        key, n = base, 1
        while key in self.people:
            n += 1
            key = f"{base}-{n}"
        self.cue_names[norm] = key
        display = name if not name.isupper() else " ".join(w.capitalize() for w in name.lower().split())
        self.people[key] = {"name": name, "display": display, "line": line,
                            "voice": self.voices[len(self.people) % len(self.voices)]}
        return key

    def characters(self, shots: list[DraftShot], actions: list[tuple[int, str]],
                   action_shots: set[str]) -> dict[str, DraftCharacter]:
        """Every character with a cue, described from the action that introduces them in capitals;
        and each action shot lists the characters its words name."""
        cast = {}
        for key, info in self.people.items():
            description, line = self.introduction(info["name"], actions)
            if description:
                comment = f"introduced on line {line}; speaks as `{info['voice']}`"
            else:
                description = info["display"]
                comment = f"first speaks on line {info['line']}, never introduced in capitals: describe them here; " \
                          f"speaks as `{info['voice']}`"
            cast[key] = DraftCharacter(key, description, derived_seed("character", _norm(info["name"])), comment)
        self.name_in_shots(shots, action_shots)
        return cast

    def introduction(self, name: str, actions: list[tuple[int, str]]) -> tuple[str | None, int | None]:
        """A description from the first action naming the character in capitals: "BRICK BRADDOCK,
        retired police detective, sits" -> "Brick Braddock, retired police detective"."""
        upper = name.upper()
        if not re.search(r"[A-Z]", upper):
            return None, None
        pattern = re.compile(rf"(?<![\w'])({re.escape(upper)})(?![\w'])")
        for line, prose in actions:
            match = pattern.search(prose)
            if match is None:
                continue
            known = {word for info in self.people.values() for word in info["name"].upper().split()}
            return _describe(prose, match.start(), match.end(), known), line
        return None, None

    def name_in_shots(self, shots: list[DraftShot], action_shots: set[str]) -> None:
        """Each action shot lists the characters its words name."""
        spellings = {}
        for key, info in self.people.items():
            name = info["name"]
            for form in {name, name.upper(), info["display"]}:
                if re.search(r"[^\W\d_]", form) and form != form.lower():  # "character" is a word, not a name
                    spellings[form] = key
        if not spellings:
            return
        pattern = re.compile(r"(?<![\w'])(" + "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
                             + r")(?![\w'])")
        for shot in shots:
            if shot.id not in action_shots:
                continue
            for match in pattern.finditer(shot.prompt):
                key = spellings[match.group(1)]
                if key not in shot.characters:
                    shot.characters.append(key)


def _norm(name: str) -> str:
    """A cue as compared: capitals, punctuation gone, spaces single."""
    return " ".join(re.sub(r"[^\w#' ]+", " ", name.upper()).split())


def _key(name: str) -> str:
    """`MR. STEEL` -> `mr-steel` (letters of any script kept: a key is any text in film.yaml)."""
    return "-".join(re.sub(r"[^\w]+", " ", clean_text(name).lower().replace("_", " ")).split())[:48]


DESCRIBING = {"a", "an", "the", "his", "her", "their", "its", "our", "my", "in", "with", "wearing", "dressed", "once",
              "now", "still", "late", "early", "mid", "very", "quite", "about", "around", "maybe"}
_STOP = {"THE", "A", "AN", "AKA", "AND", "OR", "OF", "BUT", "THEN", "AS", "IN", "ON", "AT", "TO", "WITH"}


def _describe(prose: str, start: int, end: int, known: set[str] = frozenset()) -> str:
    """The character's name as the action writes it in capitals, and what the action says of them."""
    caps = re.compile(r"[A-Z0-9][A-Z0-9'.\-]*")
    # widen to the run of capitalised words around the name ("BRICK" -> "BRICK BRADDOCK")
    while True:
        before = re.search(r"(?<![\w'])([A-Z0-9][A-Z0-9'.\-]*) $", prose[:start])
        if not before or before.group(1).rstrip(".") in _STOP or not re.search(r"[A-Z]", before.group(1)):
            break
        start = before.start(1)
    while True:
        after = re.match(r" ([A-Z0-9][A-Z0-9'\-]*)(?![a-z])", prose[end:])
        if not after or after.group(1) in _STOP or not caps.fullmatch(after.group(1)):
            break
        end += after.end(1)
    name = " ".join(w.capitalize() if w.isupper() else w for w in prose[start:end].split())
    rest = prose[end:]
    details = []
    paren = re.match(r"\s*\(([^)]{1,40})\)", rest)
    if paren:
        details.append(paren.group(1).strip())
        rest = rest[paren.end():]
    while len(details) < 3:  # ", 50s, a retired detective in a faded shirt, sits" -> 50s; a retired detective...
        segment = re.match(r"\s*,\s*([^,.;:!?()]{2,160}?)\s*(?=,|\.|;|:|!|\?| --|$)", rest)
        if not segment or len(segment.group(1).split()) > 20:
            break
        words = segment.group(1).split()
        if details and words[0].lower() not in DESCRIBING and not re.match(r"\d", words[0]):
            break  # ", sits quietly": what they do, not who they are
        if re.match(r"(is|are|was|has|had|who|which|that|and|but|then|as)\b", words[0].lower()):
            break
        details.append(segment.group(1).strip())
        rest = rest[segment.end():]
    if details:
        return clean_text(", ".join([name, *details]))
    # no appositive: the sentence that names them, its shouted words spoken normally
    cut = max(prose.rfind(". ", 0, start), prose.rfind("! ", 0, start), prose.rfind("? ", 0, start))
    before = prose[0 if cut < 0 else cut + 2:start]
    stop = re.search(r"[.!?](\s|$)", prose[end:])
    after = prose[end:end + stop.end() if stop else len(prose)]
    def calm(text: str) -> str:  # shouted words said normally; other characters keep their capital
        return re.sub(r"\b[A-Z][A-Z'\-]+\b", lambda m: m.group(0).capitalize() if m.group(0) in known
                      else m.group(0).lower(), text)

    words = f"{calm(before)}{name}{calm(after)}".split()
    return clean_text(" ".join(words[:30])) if words else name
