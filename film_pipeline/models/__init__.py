"""Loading models: where a profile's model reference points, on which device, in which precision.

A model reference in a profile is one of:
  - a Hugging Face model id (`stabilityai/sdxl-turbo`), loaded from the local cache only unless
    FILM_ALLOW_DOWNLOAD=1: a missing checkpoint is a `ModelMissingError` that names the model,
    the profile and the command that fetches it;
  - a local directory (`/models/my-sdxl`);
  - `tiny:NAME`, a tiny random pipeline built from config on first use (see `tiny.py`) and then
    loaded with `from_pretrained(path)` exactly as a real checkpoint is.

`LOADS` counts every `from_pretrained` call (and every packaged-weight load) in this process, per
stage and model, so a test can prove that a render of N shots loads each model once.
"""

from __future__ import annotations  # torch appears in annotations only: importing this module never loads it

import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

LOADS: Counter = Counter()


class ModelMissingError(RuntimeError):
    """A checkpoint the profile names is not on this machine."""


def downloads_allowed() -> bool:
    return os.environ.get("FILM_ALLOW_DOWNLOAD") == "1" and os.environ.get("HF_HUB_OFFLINE") != "1"


def resolve_model(ref: str, stage: str) -> str:
    """A path or id that `from_pretrained` accepts, building tiny models on demand."""
    if ref.startswith("tiny:"):
        from film_pipeline.models.tiny import tiny_model_path

        return str(tiny_model_path(ref.removeprefix("tiny:")))
    if Path(ref).expanduser().is_absolute() or ref.startswith("."):
        path = Path(ref).expanduser()
        if not path.exists():
            raise ModelMissingError(f"the {stage} model directory {path} does not exist; point the profile at a "
                                    f"downloaded checkpoint")
        return str(path)
    return ref


def quiet_libraries() -> None:
    """Loading bars and notices from diffusers/transformers would garble `film`'s own progress bar.
    diffusers is quieted once something has imported it (a diffusers loader has, before it loads):
    importing it only to quiet it took 3 s of a render whose models are all transformers'."""
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    if "diffusers" in sys.modules:
        diffusers = sys.modules["diffusers"]
        diffusers.utils.logging.disable_progress_bar()
        diffusers.utils.logging.set_verbosity_error()


def load_pretrained(loader, ref: str, stage: str, profile_hint: str = "", **kwargs):
    """`loader.from_pretrained(ref)`, offline unless allowed, with a clear error when missing."""
    quiet_libraries()
    source = resolve_model(ref, stage)
    LOADS[(stage, ref)] += 1
    try:
        return loader.from_pretrained(source, local_files_only=not downloads_allowed(), **kwargs)
    except OSError:
        if Path(source).exists():
            raise  # a local checkpoint that does not load is a real problem, not a missing one
        raise ModelMissingError(
            f"the {stage} model `{ref}`{f' (profile `{profile_hint}`)' if profile_hint else ''} is not in the local "
            f"Hugging Face cache. On a machine with network access run `hf download {ref}` (or "
            f"`huggingface-cli download {ref}`), copy the cache (~/.cache/huggingface) here, or set "
            f"FILM_ALLOW_DOWNLOAD=1 to let this render download it") from None


def pick_device(setting: str = "auto") -> torch.device:
    import torch

    if setting != "auto":
        return torch.device(setting)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pick_dtype(setting: str, device: torch.device) -> torch.dtype:
    """auto: bf16 (or fp16) on CUDA, fp32 on CPU; or a name such as `float16`."""
    import torch

    if setting != "auto":
        return getattr(torch, setting)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def generator(device: torch.device, seed: int) -> torch.Generator:
    """A seeded generator on the model's device: same seed, same device, same pixels."""
    import torch

    return torch.Generator(device="cpu" if device.type == "mps" else device).manual_seed(int(seed))
