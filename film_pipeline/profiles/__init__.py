"""Named model profiles: which backend (and which settings) renders each stage.

A profile is a YAML file beside this module, `<name>.yaml`, mapping a stage to
`{backend: NAME, settings: {...}}`. Films pick one with `profile:`; `film render --profile`
overrides it for a run.
"""

from functools import cache
from pathlib import Path

from ruamel.yaml import YAML

STAGES = ("text", "keyframe", "motion", "upscale", "music", "speech")
OPTIONAL_STAGES = ("scorer",)  # an image-text model that scores keyframe takes against their prompt
PROFILE_DIR = Path(__file__).parent


class ProfileError(ValueError):
    """An unknown profile name or a profile file that does not say what every stage uses."""


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


@cache
def load_profile(name: str) -> dict[str, dict]:
    """`{stage: {"backend": name, "settings": {...}}}` for every stage."""
    path = PROFILE_DIR / f"{name}.yaml"
    if not path.exists():
        raise ProfileError(f"unknown profile `{name}`; known profiles: {', '.join(profile_names())}")
    raw = YAML(typ="safe").load(path.read_text()) or {}
    missing = [stage for stage in STAGES if stage not in raw]
    if missing:
        raise ProfileError(f"{path}: profile `{name}` does not say which backend renders {', '.join(missing)}")
    return {stage: {"backend": raw[stage]["backend"], "settings": dict(raw[stage].get("settings") or {})}
            for stage in STAGES + OPTIONAL_STAGES if stage in raw}


def has_stage(profile: str, stage: str, override: dict | None = None) -> bool:
    """Whether the profile (or the film's `models:` override) names a backend for an optional stage."""
    return stage in load_profile(profile) or bool(override and "backend" in override)


def stage_config(profile: str, stage: str, override: dict | None = None) -> dict:
    """A stage's backend and settings under a profile, with a film's `models:` override applied.

    The override's keys replace the profile's settings; `backend:` in it switches the backend
    (and then the profile's settings, which belong to the other backend, are dropped).
    """
    entry = load_profile(profile)[stage]
    override = dict(override or {})
    backend = override.pop("backend", entry["backend"])
    base = entry["settings"] if backend == entry["backend"] else {}
    return {"backend": backend, "settings": {**base, **override}}
