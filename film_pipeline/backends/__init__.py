"""One small protocol per stage, and the registry that turns a profile's backend names into objects.

A backend is a class with a `name`, a `version` (bump it when its output changes: the version is
part of every data version it renders) and the one method of its stage. Adding a model family
is one class plus one row in `registry.BUILTIN` (`register` adds one at run time). Backends are
created once per process and reused across
shots (`get_backend` caches them), so a model loads once per render, not once per shot.
"""

from __future__ import annotations  # numpy and PIL appear only in annotations: planning imports neither

import inspect
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

from film_pipeline.backends.registry import ENTRIES
from film_pipeline.profiles import stage_config


@dataclass(frozen=True)
class CharacterLook:
    name: str
    description: str
    seed: int


@dataclass(frozen=True)
class KeyframeRequest:
    prompt: str
    style: str | None
    characters: tuple[CharacterLook, ...]
    seed: int
    size: tuple[int, int]
    references: tuple = ()  # the characters' reference images, for backends that take image prompts


@dataclass(frozen=True)
class MotionRequest:
    camera: str
    motion: str | None
    frames: int
    fps: int
    size: tuple[int, int]
    caption: str
    seed: int
    take: int = 1  # clip takes after the first are alternatives: a backend may vary more than the seed
    # the shot's last keyframe (`end_prompt`): the clip ends on it; a family without first-and-last-frame
    # conditioning says what it does instead in `facts`
    end_keyframe: Image.Image | None = None
    # `continues: true`: the keyframe given is the previous shot's last frame, at the frame's size, and the
    # clip's first frame is that frame
    continues: bool = False
    # the same shot rendered `scale` times larger (frames of size x scale): a camera move re-rendered at
    # the delivery size over an upscaled keyframe, instead of its frames upscaled one by one
    scale: int = 1


@dataclass(frozen=True)
class CueRequest:
    id: str
    prompt: str
    start: float  # seconds into the film
    end: float
    seed: int


class KeyframeBackend(Protocol):
    """`paint` returns an image of `request.size`. A backend may also have `facts(request) -> dict`:
    the model family and how the request was fitted to its rules, recorded in the metadata."""

    name: str
    version: str

    def paint(self, request: KeyframeRequest) -> Image.Image: ...


class MotionBackend(Protocol):
    """`animate` yields exactly `request.frames` frames of `request.size`. A backend may also have
    `facts(request) -> dict`: what the model was really asked for (its family, native frame count
    and size, how the request was rounded to the family's rules), recorded in the clip's metadata."""

    name: str
    version: str

    def animate(self, keyframe: Image.Image, request: MotionRequest) -> Iterator[np.ndarray]: ...


class UpscaleBackend(Protocol):
    name: str
    version: str

    def upscale(self, frame: np.ndarray, factor: int) -> np.ndarray: ...


class MusicBackend(Protocol):
    name: str
    version: str

    def score(self, cues: list[CueRequest], seconds: float, rate: int) -> np.ndarray: ...


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray  # float32 mono at `rate`
    rate: int
    backend: str          # what actually spoke (a fallback says so)
    warning: str | None = None


class TextBackend(Protocol):
    name: str
    version: str

    def expand(self, prompt: str, style: str | None) -> str: ...


class SpeechBackend(Protocol):
    name: str
    version: str

    def speak(self, text: str, voice: str | None, seed: int) -> Speech: ...


_REGISTRY: dict[tuple[str, str], type] = {}  # backends registered at run time (plugins, tests)


def register(stage: str, cls: type) -> type:
    _REGISTRY[(stage, cls.name)] = cls
    return cls


def backend_id(stage: str, profile: str, override: dict | None = None) -> dict:
    """What a data version must know about a stage's backend: name, version, settings and variant.

    `override` is the film's `models:` entry for the stage. A backend may report a `variant()`
    (say, "missing" when its tool is not installed), so a fallback render never masquerades as
    the real one under the same version. Built-in backends are read from the registry table:
    no model library is imported to compute a spec.
    """
    entry = stage_config(profile, stage, override)
    name = entry["backend"]
    if (stage, name) not in _REGISTRY and (stage, name) in ENTRIES:
        builtin = ENTRIES[(stage, name)]
        ident = {"backend": builtin.name, "version": builtin.version, "settings": entry["settings"]}
        if builtin.variant:
            ident["variant"] = builtin.load().variant()
        return ident
    cls = _backend_class(stage, name)
    ident = {"backend": cls.name, "version": cls.version, "settings": entry["settings"]}
    if hasattr(cls, "variant"):
        ident["variant"] = cls.variant()
    return ident


def backend_for(stage: str, ident: dict):
    """The process-wide instance of the backend a spec names (created, and loaded, once)."""
    return _instance(stage, ident["backend"], json.dumps(ident["settings"], sort_keys=True))


MEMORY_SAVERS = {"cpu_offload": True, "attention_slicing": True, "vae_tiling": True}


def with_memory_savers(stage: str, ident: dict) -> dict:
    """The same backend with every memory saver it supports switched on (for a retry after OOM).

    The savers change how much GPU memory a step needs, not what it renders, so a spec's data
    version stays the same.
    """
    accepted = inspect.signature(_backend_class(stage, ident["backend"])).parameters
    savers = {name: value for name, value in MEMORY_SAVERS.items() if name in accepted}
    return {**ident, "settings": {**ident["settings"], **savers}}


def is_out_of_memory(error: BaseException) -> bool:
    """A GPU (or accelerator) ran out of memory; worth one retry with the memory savers on."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(error, torch.OutOfMemoryError):
        return True
    return "out of memory" in str(error).lower() and "cuda" in str(error).lower()


def release_accelerator_memory() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def get_backend(stage: str, profile: str):
    return backend_for(stage, backend_id(stage, profile))


def loaded_backends() -> int:
    """How many backends (and their models) this process holds now."""
    return _instance.cache_info().currsize


@cache
def _instance(stage: str, name: str, settings: str):
    return _backend_class(stage, name)(**json.loads(settings))


def _backend_class(stage: str, name: str) -> type:
    """The class of a backend: registered at run time, or a built-in one, imported now."""
    if (stage, name) in _REGISTRY:
        return _REGISTRY[(stage, name)]
    if (stage, name) in ENTRIES:
        return ENTRIES[(stage, name)].load()
    known = sorted({n for s, n in [*_REGISTRY, *ENTRIES] if s == stage})
    raise ValueError(f"no {stage} backend named `{name}`; known: {', '.join(known)}")
