"""A draft film (what the writers' room made) and the commented film.yaml written from it.

The file is built from ruamel.yaml round-trip types, so comments sit where a person expects them
(a header, a line per scene, the source line of each shot) and `film pick`, `film rollback` and
hand edits keep them. Every text is cleaned first (no control characters, no undecodable bytes),
the result is checked with `load_film` before it replaces anything, and an existing film.yaml is
never overwritten: `force` moves it to `film.yaml.bak-<UTC time>` first.
"""

import io
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from film_pipeline.film import MAX_DURATION, SHOT_ID, FilmError, load_film

# seconds: the shortest shot the importers write (a title card, a glance); film.yaml's own limit is 60
MIN_DURATION = 2.0


@dataclass(frozen=True)
class Notice:
    """Something the writers' room could not use as it stands: the line it is on (1-based, None
    when it is not one line of a file) and what was done instead."""
    line: int | None
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class DraftCharacter:
    key: str
    description: str
    seed: int
    comment: str | None = None


@dataclass
class DraftShot:
    id: str
    prompt: str
    duration: float = 3.0
    characters: list[str] = field(default_factory=list)
    camera: str = "static"
    motion: str | None = None
    narration: str | None = None
    voice: str | None = None
    transition: str = "cut"
    comment: str | None = None            # after the id: where the shot comes from
    narration_comment: str | None = None  # after the narration: whose lines it speaks
    before: list[str] = field(default_factory=list)  # comment lines above the shot (a scene, a section)


@dataclass
class Draft:
    title: str
    shots: list[DraftShot]
    characters: dict[str, DraftCharacter] = field(default_factory=dict)
    logline: str | None = None
    style: str | None = None
    fps: int = 24
    resolution: tuple[int, int] = (512, 288)
    upscale: int = 2
    seed: int = 7
    profile: str = "preview"
    header: list[str] = field(default_factory=list)  # comment lines at the top of the file
    warnings: list[Notice] = field(default_factory=list)


# ---- cleaning text -----------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")


def clean_text(text: str, keep_newlines: bool = False) -> str:
    """Text that YAML and a UTF-8 file can hold: undecodable bytes (surrogates) replaced, control
    characters dropped, whitespace collapsed (newlines kept only when asked)."""
    text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    text = _CONTROL.sub(" ", text.replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n"))
    if keep_newlines:
        return "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()
    return " ".join(text.split())


def comment_text(text: str, limit: int = 200) -> str:
    """One line fit for a YAML comment."""
    text = clean_text(text)
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def slug(text: str, limit: int = 40, words: int = 4) -> str:
    """ASCII words of `text` joined by `-`, for shot ids: "BRICK'S PATIO" -> "brick-patio"."""
    text = unicodedata.normalize("NFKD", clean_text(text)).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"'s\b", "", text.replace("’", "'"))
    parts = [p for p in re.split(r"[^a-z0-9]+", text) if p][:words]
    out = ""
    for part in parts:
        if len(out) + len(part) + 1 > limit:
            break
        out = f"{out}-{part}" if out else part
    return out or (parts[0][:limit] if parts else "")


def unique_id(base: str, taken: set[str]) -> str:
    """`base` (made a valid shot id), or `base-2`, `base-3`... whichever is free; recorded in `taken`."""
    base = re.sub(r"[^a-z0-9_-]+", "-", base.lower()).strip("-_")[:56] or "shot"
    if not base[0].isalnum():
        base = f"s{base}"
    candidate, n = base, 1
    while candidate in taken or not SHOT_ID.match(candidate):
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def round_duration(seconds: float, low: float = MIN_DURATION, high: float = MAX_DURATION) -> float:
    """Seconds rounded up to the half second, within [low, high]."""
    half = -(-seconds * 2 // 1) / 2
    return float(min(high, max(low, half)))


# ---- film.yaml ---------------------------------------------------------------------------------

def _flow(items) -> CommentedSeq:
    seq = CommentedSeq(list(items))
    seq.fa.set_flow_style()
    return seq


def to_yaml(draft: Draft) -> str:
    """film.yaml's text for the draft, with its comments."""
    doc = CommentedMap()
    doc["title"] = clean_text(draft.title)
    if draft.logline:
        doc["logline"] = clean_text(draft.logline)
    if draft.style:
        doc["style"] = clean_text(draft.style)
    doc["fps"] = draft.fps
    doc["resolution"] = _flow(draft.resolution)
    doc.yaml_add_eol_comment("render size (even numbers); the final cut is resolution x upscale", "resolution")
    doc["upscale"] = draft.upscale
    doc["seed"] = draft.seed
    doc["profile"] = draft.profile
    if draft.header:
        doc.yaml_set_start_comment("\n".join(comment_text(line, 300) for line in draft.header))
    if draft.characters:
        cast = CommentedMap()
        for character in draft.characters.values():
            cast[character.key] = CommentedMap(description=clean_text(character.description), seed=character.seed)
            if character.comment:
                cast[character.key].yaml_add_eol_comment(comment_text(character.comment), "description")
        doc["characters"] = cast
        doc.yaml_set_comment_before_after_key("characters", before="\nthe cast: described once, drawn alike in "
                                                                   "every shot they are in", indent=0)
    shots = CommentedSeq()
    for index, shot in enumerate(draft.shots):
        item = CommentedMap()
        item["id"] = shot.id
        item["prompt"] = clean_text(shot.prompt)
        item["duration"] = float(shot.duration)
        if shot.characters:
            item["characters"] = _flow(shot.characters)
        item["camera"] = shot.camera
        if shot.motion:
            item["motion"] = clean_text(shot.motion)
        if shot.narration:
            item["narration"] = clean_text(shot.narration)
            if shot.voice:
                item["voice"] = shot.voice
            if shot.narration_comment:
                item.yaml_add_eol_comment(comment_text(shot.narration_comment), "voice" if shot.voice else "narration")
        item["transition"] = shot.transition
        if shot.comment:
            item.yaml_add_eol_comment(comment_text(shot.comment), "id")
        shots.append(item)
        if shot.before:
            shots.yaml_set_comment_before_after_key(
                index, before="\n".join(comment_text(line, 300) for line in shot.before), indent=2)
    doc["shots"] = shots
    doc.yaml_set_comment_before_after_key("shots", before="\nthe shots, in order", indent=0)
    yaml = YAML()
    yaml.width = 4096  # one line per prompt: easier to edit than folded lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


# ---- writing it, never over an existing one -----------------------------------------------------

def target_file(film_dir: Path) -> Path:
    """film.yaml in FILM_DIR (which may be given as its film.yaml)."""
    film_dir = Path(film_dir)
    return film_dir if film_dir.name == "film.yaml" else film_dir / "film.yaml"


def check_target(film_dir: Path, force: bool) -> Path:
    """Where film.yaml goes; a FilmError when FILM_DIR is no directory or film.yaml is there
    already (and `force` is not given), before any work is done."""
    path = target_file(film_dir)
    folder = path.parent
    try:
        for above in (folder, *folder.parents):
            if above.exists() and not above.is_dir():
                raise FilmError(above, None, "is a file, not a directory",
                                "give a directory for the film (it is created if missing)")
            if above.exists():
                break
        exists = path.exists() or path.is_symlink()
        is_dir = path.is_dir()
    except OSError as error:
        raise _cannot(folder, error) from None
    if is_dir:
        raise FilmError(path, None, "is a directory, not a file",
                        "remove or rename the directory, then run `film new` again")
    if exists and not force:
        raise FilmError(path, None, "already exists; `film new` never overwrites a film",
                        "choose another directory, or add --force to replace it (the old file is kept as "
                        "film.yaml.bak-<time>)")
    return path


def write_film_yaml(film_dir: Path, text: str, force: bool) -> tuple[Path, Path | None]:
    """Write `text` as FILM_DIR/film.yaml, checked by `load_film` first. Returns (the file, the
    backup of the one it replaced, if any)."""
    path = check_target(film_dir, force)
    temp = path.parent / f".film-new-{os.getpid()}.yaml"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(text, encoding="utf-8")
        try:
            load_film(temp)  # the file must be one the pipeline accepts, or nothing is replaced
        except FilmError as error:  # the writers' room made a film it cannot render: a bug, not bad input
            raise RuntimeError(f"the film.yaml written for {path} does not load ({error})") from None
        backup = None
        if path.exists() or path.is_symlink():
            backup = _backup_name(path)
            os.rename(path, backup)
        os.replace(temp, path)
    except OSError as error:
        raise _cannot(path.parent, error) from None
    finally:
        try:
            temp.unlink(missing_ok=True)
        except OSError:
            pass
    return path, backup


def _backup_name(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    candidate, n = path.with_name(f"{path.name}.bak-{stamp}"), 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.name}.bak-{stamp}-{n}")
    return candidate


def _cannot(folder: Path, error: OSError) -> FilmError:
    return FilmError(folder, None, f"cannot write the film here: {error.strerror or error}",
                     "choose a directory you can write to (an existing folder, a path of at most 4096 bytes, "
                     "each name at most 255), with space left")
