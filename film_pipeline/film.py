"""film.yaml: the schema a writer edits, parsed and validated with errors that point at the line.

`load_film(path)` returns an immutable `Film`; anything wrong raises `FilmError`, whose message
names the file, the line, the shot where there is one, and what to do about it.
"""

import difflib
import errno
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from film_pipeline.profiles import OPTIONAL_STAGES, STAGES, profile_names
from film_pipeline.yaml_reader import NotFast, fast_load

CAMERAS = ("static", "pan_left", "pan_right", "tilt_up", "tilt_down", "push_in", "pull_out")
TRANSITIONS = ("cut", "crossfade", "fade")
SHOT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_DURATION = 60.0
FILM_KEYS = (
    "title", "logline", "style", "fps", "resolution", "upscale", "seed", "profile", "expand", "models",
    "schedule", "characters", "music", "shots", "subtitles", "language", "delivery",
)
SCHEDULE_KEYS = ("cron", "profile", "timezone")
NIGHTLY_CRON = "0 2 * * *"
SHOT_KEYS = (
    "id", "prompt", "duration", "characters", "camera", "motion", "narration", "voice",
    "transition", "seed", "takes", "pick", "clip_takes", "clip_pick", "end_prompt", "continues",
)
CHARACTER_KEYS = ("description", "seed")
CUE_KEYS = ("id", "prompt", "start", "end")
DELIVERY_KEYS = ("preset", "loudness", "true_peak")
LANGUAGE = re.compile(r"^[a-z]{2,3}$")  # an ISO 639-1 or 639-2 code
TYPE_NAMES = {(bool,): "true or false", (str,): "text", (int,): "whole number", (int, float): "number", (list,): "list"}


class FilmError(ValueError):
    """A film.yaml the pipeline cannot use; the message says where and how to fix it."""

    def __init__(self, path: Path | str, line: int | None, message: str, fix: str = ""):
        self.path, self.line, self.problem, self.fix = str(path), line, message, fix
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}" + (f"\n  fix: {fix}" if fix else ""))


@dataclass(frozen=True)
class Character:
    name: str
    description: str
    seed: int


@dataclass(frozen=True)
class NightlyRender:
    """`schedule:` in film.yaml: when to render everything stale with which (usually heavier) profile."""
    cron: str = NIGHTLY_CRON
    profile: str = "full"
    timezone: str = "UTC"


@dataclass(frozen=True)
class Delivery:
    """`delivery:` in film.yaml: the loudness the final mix is mastered to."""
    loudness: float = -14.0   # integrated loudness, LUFS (EBU R128 / ITU-R BS.1770)
    true_peak: float = -1.0   # the most the true peak may reach, dBTP


# `delivery: NAME` (or `delivery: {preset: NAME, ...}`): streaming services' -14 LUFS, EBU R128's -23 LUFS
DELIVERY_PRESETS = {"streaming": Delivery(-14.0, -1.0), "broadcast": Delivery(-23.0, -1.0)}


@dataclass(frozen=True)
class MusicCue:
    id: str
    prompt: str
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class Shot:
    id: str
    prompt: str
    duration: float = 3.0
    characters: tuple[str, ...] = ()
    camera: str = "static"
    motion: str | None = None
    narration: str | None = None
    voice: str | None = None
    transition: str = "cut"
    seed: int = 0
    takes: int = 1
    pick: int | None = None        # None: the best-scoring keyframe take
    clip_takes: int = 1
    clip_pick: int | None = None   # None: the best-scoring clip take
    end_prompt: str | None = None  # a second keyframe, the shot's last frame: the clip moves from one to the other
    continues: bool = False        # the shot starts on the previous shot's last frame (a take across shots)


# Shot fields added after films were rendered: left out of the film's spec at their defaults, so a
# film that does not use them keeps every data version it had.
LATER_SHOT_FIELDS = {"end_prompt": None, "continues": False}
# Film fields added after films were rendered (the deliverables): left out of the film's spec at
# their defaults for the same reason.
LATER_FILM_FIELDS = {"subtitles": True, "language": "en", "delivery": {"loudness": -14.0, "true_peak": -1.0}}


@dataclass(frozen=True)
class Film:
    path: Path
    title: str
    shots: tuple[Shot, ...]
    logline: str | None = None
    style: str | None = None
    fps: int = 24
    resolution: tuple[int, int] = (512, 288)
    upscale: int = 2
    seed: int = 0
    profile: str = "preview"
    expand: bool = False  # let the profile's language model add detail to terse prompts
    models: dict[str, dict] = field(default_factory=dict)  # per-stage overrides of the profile's settings
    characters: dict[str, Character] = field(default_factory=dict)
    music: tuple[MusicCue, ...] = ()
    schedule: NightlyRender | None = None  # when does not change what renders: not part of any spec
    subtitles: bool = True   # SRT and WebVTT beside the cut, and a soft subtitle track in it
    language: str = "en"     # ISO 639 code of the narration: the subtitle track's language
    delivery: Delivery = field(default_factory=Delivery)  # the loudness the mix is mastered to

    @property
    def slug(self) -> str:
        return film_slug(self.path.parent)

    def shot(self, shot_id: str) -> Shot:
        return self.shots[self._positions[shot_id]]

    def continued_from(self, shot_id: str) -> str | None:
        """The shot whose last frame this one starts on (`continues: true`), if any."""
        index = self._positions[shot_id]
        return self.shots[index - 1].id if self.shots[index].continues and index > 0 else None

    @cached_property
    def _positions(self) -> dict[str, int]:
        """Each shot id's place in `shots` (a feature film has thousands)."""
        return {shot.id: index for index, shot in enumerate(self.shots)}


def film_location(film_dir: Path | str) -> Path:
    """The film's directory as an absolute path under the name the user gave it: the directories
    above it resolved, itself not, so a symlinked film dir keeps its own name (for any other dir
    this is exactly `Path.resolve()`)."""
    path = Path(film_dir).absolute()
    if path.name in ("", ".."):
        return path.resolve()
    return path.parent.resolve() / path.name


def film_slug(film_dir: Path | str) -> str:
    """The film's key prefix in Dagster: its directory's name (as the user named it, a symlink
    not followed), made a valid asset key part."""
    slug = re.sub(r"[^A-Za-z0-9_]", "_", film_location(film_dir).name)
    return slug if slug and not slug[0].isdigit() else f"film_{slug}"


def derived_seed(*parts: object) -> int:
    """A stable 31-bit seed from any parts (film seed, shot id, ...)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def film_file(film_dir_or_file: Path | str) -> Path:
    """Accept either the film directory or its film.yaml."""
    path = Path(film_dir_or_file)
    if path.name == "film.yaml":  # even when it is (by mistake) a directory: loading says so
        return path
    try:
        is_dir = path.is_dir()
    except OSError:  # a name too long, say: loading the film says what is wrong with it
        is_dir = False
    return path / "film.yaml" if is_dir or path.suffix not in (".yaml", ".yml") else path


def load_film(film_dir_or_file: Path | str) -> Film:
    """The film at a directory (or its film.yaml). Errors name the file as the user wrote it; the
    film's `path` is absolute and keeps the names the user gave (symlinks are read, not followed)."""
    shown = film_file(film_dir_or_file)  # what error messages quote
    text = _read_film_text(shown)
    path = film_location(shown.parent) / shown.name
    cached = _LAST_LOADED.get(path)  # however the caller named it: `films/x`, or the absolute path
    if cached and cached[0] == text:
        return cached[1]
    try:
        film = _Parser(shown, path).film(fast_load(text))
    except (NotFast, FilmError, RecursionError):
        film = _load_with_lines(shown, path, text)  # ruamel reads it again: its errors carry the lines
    _LAST_LOADED.clear()
    _LAST_LOADED[path] = (text, film)
    return film


# the film.yaml this process read last and its Film: `film render` reads it several times
_LAST_LOADED: dict[Path, tuple[str, Film]] = {}


def _load_with_lines(shown: Path, path: Path, text: str) -> Film:
    """film.yaml read with ruamel.yaml's round-trip loader, which records every line."""
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise FilmError(shown, mark.line + 1 if mark else None, f"not valid YAML: {err.problem}",
                        "fix the YAML syntax at that line (indentation, quotes, colons)") from None
    except YAMLError as err:  # e.g. a control character the YAML reader refuses
        raise FilmError(shown, None, f"not valid YAML: {' '.join(str(err).split())}",
                        "remove control characters and fix the YAML syntax") from None
    except RecursionError:
        raise FilmError(shown, None, "nested too deeply to read", "flatten the nesting: film.yaml needs only a few levels") from None
    try:
        return _Parser(shown, path).film(doc)
    except RecursionError:
        raise FilmError(shown, None, "nested too deeply to read", "flatten the nesting: film.yaml needs only a few levels") from None


def _read_film_text(path: Path) -> str:
    """film.yaml's text, or a FilmError that names the path and says what to do."""
    try:
        _require_file(path)
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FilmError(path, None, "not UTF-8 text", "save film.yaml as UTF-8") from None
    except PermissionError:
        raise FilmError(path, None, "cannot be read: permission denied",
                        f"make it (and its directory) readable, e.g. chmod u+r {path}, or run as its owner") from None
    except OSError as err:
        if err.errno == errno.ENAMETOOLONG:
            raise FilmError(_shortened(path), None, "the path is too long",
                            "give a shorter path: each name at most 255 bytes, the whole path at most 4096") from None
        raise FilmError(path, None, f"cannot be read: {err.strerror or err}",
                        "check that film.yaml is a plain, readable file") from None


def _shortened(path: Path, limit: int = 120) -> str:
    text = str(path)
    return text if len(text) <= limit else f"{text[:limit // 2]}…{text[-limit // 2:]}"


def _require_file(path: Path) -> None:
    folder = path.parent
    if path.is_symlink() and not path.exists():
        try:
            path.stat()
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise FilmError(path, None, "is a symlink loop (it leads back to itself)",
                                "replace the link with film.yaml itself, or point it at an existing film.yaml") from None
        raise FilmError(path, None, f"is a symlink to {os.readlink(path)}, which does not exist",
                        "point the link at an existing film.yaml, or put the file itself there")
    if not path.exists():
        if folder.exists() and not folder.is_dir():  # e.g. `film render notes.txt`
            raise FilmError(folder, None, "is a file, not a film directory",
                            "give the film's directory (the one holding film.yaml) or its film.yaml")
        if not folder.exists():
            raise FilmError(folder, None, "no such film directory",
                            f"check the path, or create {folder / 'film.yaml'} (see data/films/demo/film.yaml)")
        if path.name == "film.yaml":
            raise FilmError(path, None, "no film.yaml here", "create film.yaml (see data/films/demo/film.yaml)")
        raise FilmError(path, None, "no such file", "check the path: give the film's directory or its film.yaml")
    if path.is_dir():
        raise FilmError(path, None, "is a directory, not a file",
                        f"film.yaml must be a YAML file: remove the directory (rmdir {path}) and write film.yaml there")
    if not path.is_file():
        raise FilmError(path, None, "is not a regular file", "make film.yaml a plain YAML file")


def _line(node: Any, key: Any = None) -> int | None:
    """1-based line of a mapping key or sequence item, if ruamel recorded it."""
    try:
        if key is None:
            return node.lc.line + 1
        if isinstance(node, CommentedSeq):
            return node.lc.item(key)[0] + 1
        return node.lc.key(key)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


class _Reader:
    """Reads typed values out of a YAML tree; the first bad one is a FilmError at its file:line."""

    def __init__(self, shown: Path, path: Path | None = None):
        self.path = shown  # errors quote film.yaml as the user named it
        self.film_path = path or shown

    def fail(self, node: Any, key: Any, message: str, fix: str = "") -> None:
        raise FilmError(self.path, _line(node, key), message, fix)

    def mapping(self, node: Any, what: str, parent: Any = None, key: Any = None) -> CommentedMap:
        if not isinstance(node, dict):
            self.fail(parent if parent is not None else node, key,
                      f"{what} must be a mapping of key: value, got {_kind(node)}",
                      f"write {what} as `key: value` lines")
        return node

    def check_keys(self, node: CommentedMap, allowed: tuple[str, ...], where: str) -> None:
        for key in node:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.5)
                fix = f"did you mean `{close[0]}`?" if close else f"valid keys: {', '.join(allowed)}"
                self.fail(node, key, f"unknown key `{key}` in {where}", fix)

    def value(self, node: CommentedMap, key: str, kind: type | tuple, where: str, default: Any = None,
              required: bool = False) -> Any:
        if key not in node or node[key] is None:
            if required:
                self.fail(node, None, f"{where} is missing `{key}`", f"add `{key}:` to {where}")
            return default
        value = node[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = TYPE_NAMES.get(kinds, " or ".join(k.__name__ for k in kinds))
            self.fail(node, key, f"`{key}` in {where} must be a {names}, got {_kind(value)} {value!r}",
                      f"set `{key}` to a {names}")
        return value

    def bounded(self, node: CommentedMap, key: str, where: str, low: float, high: float,
                default: Any, kind: type | tuple = int) -> Any:
        value = self.value(node, key, kind, where, default)
        if not low <= value <= high:
            self.fail(node, key, f"`{key}` in {where} is {value}, outside {low}..{high}",
                      f"set `{key}` between {low} and {high}")
        return value

    def choice(self, spec: CommentedMap, key: str, options: tuple[str, ...], where: str, default: str) -> str:
        value = self.value(spec, key, str, where, default)
        if value not in options:
            close = difflib.get_close_matches(value, options, n=1)
            self.fail(spec, key, f"`{key}: {value}` in {where} is not one of {', '.join(options)}",
                      f"did you mean `{close[0]}`?" if close else f"use one of {', '.join(options)}")
        return value


class _Parser(_Reader):
    """Walks film.yaml's tree once, turning it into dataclasses or the first clear error."""

    def film(self, doc: Any) -> Film:
        if doc is None:
            self.fail(doc, None, "film.yaml is empty", "add at least `title:` and `shots:`")
        doc = self.mapping(doc, "film.yaml")
        self.check_keys(doc, FILM_KEYS, "the film")
        title = self.value(doc, "title", str, "the film", required=True).strip()
        if not title:
            self.fail(doc, "title", "`title` is empty", "give the film a title")
        fps = self.bounded(doc, "fps", "the film", 1, 120, 24)
        resolution = self.resolution(doc)
        seed = self.bounded(doc, "seed", "the film", 0, 2**31 - 1, 0)
        profile = self.value(doc, "profile", str, "the film", "preview")
        if profile not in profile_names():
            close = difflib.get_close_matches(profile, profile_names(), n=1)
            self.fail(doc, "profile", f"unknown profile `{profile}`",
                      f"did you mean `{close[0]}`?" if close else f"use one of {', '.join(profile_names())}")
        characters = self.characters(doc, seed)
        shots = self.shots(doc, fps, seed, set(characters))
        return Film(
            path=self.film_path, title=title, shots=shots, fps=fps, resolution=resolution, seed=seed,
            logline=self.value(doc, "logline", str, "the film"),
            style=self.value(doc, "style", str, "the film"),
            upscale=self.bounded(doc, "upscale", "the film", 1, 4, 2),
            profile=profile, characters=characters, music=self.music(doc, shots),
            expand=self.value(doc, "expand", bool, "the film", False), models=self.models(doc),
            schedule=self.schedule(doc), subtitles=self.value(doc, "subtitles", bool, "the film", True),
            language=self.language(doc), delivery=self.delivery(doc),
        )

    def language(self, doc: CommentedMap) -> str:
        value = self.value(doc, "language", str, "the film", "en")
        if not LANGUAGE.match(value):
            self.fail(doc, "language", f"`language: {value}` is not an ISO 639 language code",
                      "use a two- or three-letter lowercase code, e.g. en, fr, deu")
        return value

    def delivery(self, doc: CommentedMap) -> Delivery:
        """`delivery: broadcast`, or `delivery: {loudness: -14, true_peak: -1}` (a `preset:` sets both first)."""
        node = doc.get("delivery")
        if node is None:
            return Delivery()
        presets = tuple(DELIVERY_PRESETS)
        if isinstance(node, str):
            return DELIVERY_PRESETS[self.choice(doc, "delivery", presets, "the film", "streaming")]
        node = self.mapping(node, "`delivery`", doc, "delivery")
        self.check_keys(node, DELIVERY_KEYS, "`delivery`")
        base = DELIVERY_PRESETS[self.choice(node, "preset", presets, "`delivery`", "streaming")]
        loudness = float(self.bounded(node, "loudness", "`delivery`", -40, -5, base.loudness, (int, float)))
        true_peak = float(self.bounded(node, "true_peak", "`delivery`", -9, 0, base.true_peak, (int, float)))
        return Delivery(loudness, true_peak)

    def schedule(self, doc: CommentedMap) -> NightlyRender | None:
        """`schedule: {cron: "0 2 * * *", profile: full, timezone: Europe/Paris}` (every key optional)."""
        if doc.get("schedule") is None:
            return None
        node = self.mapping(doc["schedule"], "`schedule`", doc, "schedule")
        self.check_keys(node, SCHEDULE_KEYS, "`schedule`")
        from film_pipeline.dagster_internals import is_valid_cron

        cron = self.value(node, "cron", str, "`schedule`", NIGHTLY_CRON)
        if not is_valid_cron(cron):
            self.fail(node, "cron", f"`{cron}` is not a cron schedule",
                      'write five fields: minute hour day month weekday, e.g. "0 2 * * *" for 2 am daily')
        profile = self.value(node, "profile", str, "`schedule`", "full")
        if profile not in profile_names():
            self.fail(node, "profile", f"unknown profile `{profile}`", f"use one of {', '.join(profile_names())}")
        timezone = self.value(node, "timezone", str, "`schedule`", "UTC")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(node, "timezone", f"unknown time zone `{timezone}`", "use an IANA name such as UTC or Europe/Paris")
        return NightlyRender(cron, profile, timezone)

    def models(self, doc: CommentedMap) -> dict[str, dict]:
        """`models: {stage: {setting: value, backend: name?}}`, overriding the profile per film."""
        node = self.mapping(doc.get("models") or {}, "`models`", doc, "models")
        self.check_keys(node, STAGES + OPTIONAL_STAGES, "`models`")
        out = {}
        for stage, settings in node.items():
            settings = self.mapping(settings, f"`models.{stage}`", node, stage)
            out[stage] = json.loads(json.dumps(settings))  # plain data: it goes into data versions
        return out

    def resolution(self, doc: CommentedMap) -> tuple[int, int]:
        value = doc.get("resolution", [512, 288])
        fix = "write `resolution: [width, height]` with even numbers from 16 to 4096, e.g. [512, 288]"
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            self.fail(doc, "resolution", f"`resolution` must be two whole numbers, got {value!r}", fix)
        if not all(16 <= v <= 4096 and v % 2 == 0 for v in value):
            self.fail(doc, "resolution", f"`resolution` {list(value)} must be even numbers from 16 to 4096", fix)
        return int(value[0]), int(value[1])

    def characters(self, doc: CommentedMap, film_seed: int) -> dict[str, Character]:
        node = doc.get("characters") or {}
        node = self.mapping(node, "`characters`", doc, "characters")
        out = {}
        for name, spec in node.items():
            where = f"character `{name}`"
            if isinstance(spec, str):  # shorthand: `name: description`
                spec = CommentedMap(description=spec)
            spec = self.mapping(spec, where, node, name)
            self.check_keys(spec, CHARACTER_KEYS, where)
            description = self.value(spec, "description", str, where, required=True)
            seed = self.bounded(spec, "seed", where, 0, 2**31 - 1, derived_seed(film_seed, "character", name))
            out[str(name)] = Character(str(name), description, seed)
        return out

    def shots(self, doc: CommentedMap, fps: int, film_seed: int, characters: set[str]) -> tuple[Shot, ...]:
        node = doc.get("shots")
        if not isinstance(node, list) or not node:
            self.fail(doc, "shots" if "shots" in doc else None,
                      "the film needs `shots:`, a list with at least one shot",
                      "add `shots:` with items like `- id: s01` and `prompt: ...`")
        shots, seen = [], {}
        for index, item in enumerate(node):
            shot = self.shot(node, index, item, fps, film_seed, characters)
            if shot.id in seen:
                self.fail(node, index, f"shot id `{shot.id}` is used twice (first on line {seen[shot.id]})",
                          "give every shot a unique id")
            seen[shot.id] = _line(node, index)
            shots.append(shot)
        return tuple(shots)

    def shot(self, node: CommentedSeq, index: int, item: Any, fps: int, film_seed: int,
             characters: set[str]) -> Shot:
        spec = self.mapping(item, f"shot #{index + 1}", node, index)
        raw_id = spec.get("id")
        where = f"shot `{raw_id}`" if isinstance(raw_id, str) else f"shot #{index + 1}"
        self.check_keys(spec, SHOT_KEYS, where)
        shot_id = self.value(spec, "id", str, where, required=True)
        if not SHOT_ID.match(shot_id):
            self.fail(spec, "id", f"shot id `{shot_id}` is not valid",
                      "use 1-64 lowercase letters, digits, `-` or `_`, starting with a letter or digit")
        prompt = self.value(spec, "prompt", str, where, required=True)
        duration = float(self.bounded(spec, "duration", where, 0, MAX_DURATION, 3.0, (int, float)))
        if duration <= 0 or round(duration * fps) < 1:
            self.fail(spec, "duration", f"`duration` in {where} is {duration}s, shorter than one frame at {fps} fps",
                      f"use at least {1 / fps:.3f} seconds")
        cast = self.value(spec, "characters", list, where, [])
        for position, name in enumerate(cast):
            if name not in characters:
                close = difflib.get_close_matches(str(name), sorted(characters), n=1)
                self.fail(cast, position, f"{where} names character `{name}`, which is not defined",
                          f"did you mean `{close[0]}`?" if close else "define it under `characters:`")
        takes, pick = self.takes(spec, where, "takes", "pick")
        clip_takes, clip_pick = self.takes(spec, where, "clip_takes", "clip_pick")
        end_prompt = self.value(spec, "end_prompt", str, where)
        if end_prompt is not None and not end_prompt.strip():
            self.fail(spec, "end_prompt", f"`end_prompt` in {where} is empty",
                      "describe the shot's last frame, or remove `end_prompt`")
        continues = self.value(spec, "continues", bool, where, False)
        if continues and index == 0:
            self.fail(spec, "continues", f"{where} is the first shot: there is no shot before it to continue from",
                      "remove `continues`, or move the shot after the one it continues")
        return Shot(
            id=shot_id, prompt=prompt, duration=duration, characters=tuple(cast),
            camera=self.choice(spec, "camera", CAMERAS, where, "static"),
            motion=self.value(spec, "motion", str, where),
            narration=self.value(spec, "narration", str, where),
            voice=self.value(spec, "voice", str, where),
            transition=self.choice(spec, "transition", TRANSITIONS, where, "cut"),
            seed=self.bounded(spec, "seed", where, 0, 2**31 - 1, derived_seed(film_seed, shot_id)),
            takes=takes, pick=pick, clip_takes=clip_takes, clip_pick=clip_pick, end_prompt=end_prompt,
            continues=continues,
        )

    def takes(self, spec: CommentedMap, where: str, count_key: str, pick_key: str) -> tuple[int, int | None]:
        """`takes: N` candidates (1..16) and an optional `pick:` among them (default: the best-scoring)."""
        count = self.bounded(spec, count_key, where, 1, 16, 1)
        pick = self.value(spec, pick_key, int, where)
        if pick is not None and not 1 <= pick <= count:
            self.fail(spec, pick_key, f"`{pick_key}: {pick}` in {where} is not one of its {count} take(s)",
                      f"pick a take from 1 to {count}, raise `{count_key}`, or remove `{pick_key}` for the best-scoring one")
        return count, pick

    def music(self, doc: CommentedMap, shots: tuple[Shot, ...]) -> tuple[MusicCue, ...]:
        node = doc.get("music") or []
        if not isinstance(node, list):
            self.fail(doc, "music", "`music` must be a list of cues", "write `music:` with `- id: ...` items")
        shot_ids = [s.id for s in shots]
        cues, seen = [], set()
        for index, item in enumerate(node):
            spec = self.mapping(item, f"music cue #{index + 1}", node, index)
            where = f"music cue `{spec.get('id', index + 1)}`"
            self.check_keys(spec, CUE_KEYS, where)
            cue_id = self.value(spec, "id", str, where, required=True)
            if cue_id in seen:
                self.fail(node, index, f"music cue id `{cue_id}` is used twice", "give every cue a unique id")
            seen.add(cue_id)
            bounds = {}
            for key in ("start", "end"):
                ref = self.value(spec, key, str, where)
                if ref is not None and ref not in shot_ids:
                    close = difflib.get_close_matches(ref, shot_ids, n=1)
                    self.fail(spec, key, f"`{key}: {ref}` in {where} is not a shot id",
                              f"did you mean `{close[0]}`?" if close else "name a shot from `shots:`")
                bounds[key] = ref
            if bounds["start"] and bounds["end"] and shot_ids.index(bounds["end"]) < shot_ids.index(bounds["start"]):
                self.fail(spec, "end", f"{where} ends at `{bounds['end']}`, before it starts at `{bounds['start']}`",
                          "swap `start` and `end`")
            cues.append(MusicCue(cue_id, self.value(spec, "prompt", str, where, required=True), **bounds))
        return tuple(cues)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return {bool: "yes/no", int: "a number", float: "a number", str: "text"}.get(type(value), type(value).__name__)
