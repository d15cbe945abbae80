"""The writers' room: `film new` writes a film.yaml a person can keep editing, from a Fountain
screenplay (`fountain.py`), a logline (`logline.py`, the profile's language model) or nothing (a
commented template, `template.py`). `film_yaml.py` writes it, commented, and never over an
existing film.yaml: `force` keeps the old one as `film.yaml.bak-<time>`.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from film_pipeline.film import FilmError
from film_pipeline.profiles import ProfileError, profile_names
from film_pipeline.writers_room.film_yaml import (Notice, check_target, clean_text, target_file, to_yaml,
                                                  write_film_yaml)

SEED_RANGE = (0, 2**31 - 1)


@dataclass
class NewFilm:
    """What `film new` wrote."""
    path: Path
    shots: int
    characters: list[str]
    source: str                   # "template", "logline" or the screenplay's path
    backup: Path | None = None    # the film.yaml it replaced (--force)
    warnings: list[Notice] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"path": str(self.path), "shots": self.shots, "characters": self.characters, "source": self.source,
                "backup": str(self.backup) if self.backup else None,
                "warnings": [w.as_dict() for w in self.warnings]}


def new_film(film_dir: Path | str, script: Path | str | None = None, logline: str | None = None,
             shots: int | None = None, seed: int | None = None, profile: str | None = None,
             force: bool = False) -> NewFilm:
    """Write FILM_DIR/film.yaml from a Fountain screenplay, a logline, or (neither) the template.
    Bad input of any kind is a FilmError; an existing film.yaml is one too unless `force`."""
    film_dir = Path(film_dir)
    profile = _profile(profile)
    if script is not None and logline is not None:
        raise FilmError(film_dir, None, "give a screenplay (--from) or a logline (--logline), not both",
                        "choose one")
    if shots is not None and logline is None:
        raise FilmError(film_dir, None, "--shots is for --logline (a screenplay's shots come from its scenes)",
                        "leave --shots out, or give --logline")
    if seed is not None and not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
        raise FilmError(film_dir, None, f"--seed {seed} is outside {SEED_RANGE[0]}..{SEED_RANGE[1]}",
                        "give a whole number in that range")
    check_target(film_dir, force)  # before any work: an existing film is never touched without --force
    if script is not None:
        draft, source = _from_script(Path(script), profile, seed), str(script)
        text = to_yaml(draft)
    elif logline is not None:
        draft, source = _from_logline(film_dir, logline, shots, seed, profile), "logline"
        text = to_yaml(draft)
    else:
        from film_pipeline.writers_room.template import template_yaml

        draft, source = None, "template"
        text = template_yaml(_title_from_dir(film_dir), str(film_dir), profile, 7 if seed is None else seed)
    path, backup = write_film_yaml(film_dir, text, force)
    if draft is None:
        return NewFilm(path, 3, ["hero"], source, backup)
    return NewFilm(path, len(draft.shots), list(draft.characters), source, backup, draft.warnings)


def _profile(name: str | None) -> str:
    name = "preview" if name is None else name
    if name not in profile_names():
        raise ProfileError(f"unknown profile `{clean_text(name)}`; known profiles: {', '.join(profile_names())}")
    return name


def _from_script(script: Path, profile: str, seed: int | None):
    from film_pipeline.writers_room.fountain import import_fountain, read_script

    text, warnings = read_script(script)
    draft = import_fountain(text, script.name, profile, seed, path=script)
    draft.warnings[:0] = warnings
    return draft


def _from_logline(film_dir: Path, logline: str, shots: int | None, seed: int | None, profile: str):
    from film_pipeline.writers_room.logline import DEFAULT_SHOTS, MAX_SHOTS, draft_from_logline, load_model

    if not clean_text(logline) or not re.search(r"[^\W_]", clean_text(logline)):
        raise FilmError(film_dir, None, "the logline has no words", 'give the story in a sentence: --logline "..."')
    shots = DEFAULT_SHOTS if shots is None else shots
    if not 1 <= shots <= MAX_SHOTS:
        raise FilmError(film_dir, None, f"--shots {shots} is outside 1..{MAX_SHOTS}",
                        f"ask for 1 to {MAX_SHOTS} shots (write more by hand, or from a screenplay)")
    model, problem = load_model(profile)
    return draft_from_logline(logline, shots, 7 if seed is None else seed, profile, _title_from_dir(film_dir),
                              model, [problem] if problem else [])


def _title_from_dir(film_dir: Path) -> str:
    name = target_file(film_dir).parent.absolute().name
    words = [w for w in re.split(r"[\s_-]+", clean_text(name)) if w]
    return " ".join(w[:1].upper() + w[1:] for w in words)[:80] or "Untitled"
