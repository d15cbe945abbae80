"""The `film` command as people run it: a real subprocess, a real FILM_HOME, real exit codes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from film_pipeline_tests.conftest import edit_film, shot, write_film

REPO = Path(__file__).resolve().parents[2]


def film(*args, home: Path, **extra_env):
    env = {**os.environ, "FILM_HOME": str(home), "PYTHONWARNINGS": "ignore", **extra_env}
    return subprocess.run([sys.executable, "-m", "film_pipeline.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=600)


def test_render_json_plan_and_status(rendered):
    home = rendered.parent.parent
    edit_film(rendered, lambda d: shot(d, "c").__setitem__("narration", "Good night."))

    plan = film("plan", rendered, "--json", home=home)
    assert plan.returncode == 0, plan.stderr
    planned = {(s["asset"], s["partition"]) for s in json.loads(plan.stdout)["render"]}
    assert planned == {("voiceover", "c"), ("script", None), ("soundtrack", None), ("subtitles", None), ("final_cut", None),
                       ("timeline_export", None)}

    status = film("status", rendered, home=home)
    assert status.returncode == 0
    assert "↻ stale" in status.stdout and "✓ fresh" in status.stdout

    render = film("render", rendered, "--json", home=home)
    assert render.returncode == 0, render.stderr
    doc = json.loads(render.stdout)
    assert doc["film"] == "mini"
    assert {(m["asset"], m["partition"]) for m in doc["materialized"]} == planned
    assert Path(doc["final_cut"]).is_absolute() and Path(doc["final_cut"]).exists()

    again = film("render", rendered, "--json", home=home)
    assert json.loads(again.stdout)["materialized"] == []
    status = json.loads(film("status", rendered, "--json", home=home).stdout)
    assert {s["status"] for s in status["assets"]} == {"fresh"}


@pytest.mark.parametrize("bad,message", [
    ("title: Mini\nshots:\n  - id: a\n    prompt: x\n    camra: static\n", ":5: unknown key `camra`"),
    ("title: [\n", "not valid YAML"),
])
def test_bad_input_is_one_clear_message_and_loses_nothing(rendered, bad, message):
    home = rendered.parent.parent
    before = sorted(p for p in (home / "store").rglob("*"))
    (rendered / "film.yaml").write_text(bad)
    for command in ("render", "plan", "status"):
        result = film(command, rendered, home=home)
        assert result.returncode == 2
        assert message in result.stderr and "film.yaml" in result.stderr and "fix:" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
    assert sorted(p for p in (home / "store").rglob("*")) == before


def test_unknown_profile_is_a_clear_error(rendered):
    result = film("render", rendered, "--profile", "cinema", home=rendered.parent.parent)
    assert result.returncode == 2 and "unknown profile `cinema`" in result.stderr and "preview" in result.stderr


def test_a_bad_worker_setting_is_a_clear_error(rendered):
    result = film("render", rendered, home=rendered.parent.parent, FILM_WORKER_LOST_AFTER="ten minutes")
    assert result.returncode == 5 and "Traceback" not in result.stderr
    assert "FILM_WORKER_LOST_AFTER='ten minutes' must be a whole number of at least 1" in result.stderr


def test_a_failing_shot_does_not_stop_the_others(home):
    film_dir = write_film(home, "title: T\nfps: 4\nresolution: [32, 18]\nshots:\n"
                          "  - id: ok\n    prompt: sea\n    duration: 0.5\n"
                          "  - id: bad\n    prompt: sky\n    duration: 0.5\n    narration: hi\n    voice: klingon-xx\n")
    result = film("render", film_dir, "--json", home=home)
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    done = {(m["asset"], m["partition"]) for m in doc["materialized"]}
    assert {("upscaled_clip", "ok"), ("voiceover", "ok"), ("script", None), ("characters", None)} <= done
    assert ("soundtrack", None) not in done and ("final_cut", None) not in done
    assert doc["final_cut"] is None
    assert "voiceover[bad]" in result.stderr and "klingon-xx" in result.stderr
    edit_film(film_dir, lambda d: shot(d, "bad").pop("voice"))
    retry = json.loads(film("render", film_dir, "--json", home=home).stdout)
    assert {(m["asset"], m["partition"]) for m in retry["materialized"]} == {
        ("voiceover", "bad"), ("script", None), ("soundtrack", None), ("subtitles", None), ("final_cut", None),
        ("timeline_export", None)}  # script: the fix edited it


def test_the_code_location_loads(home):
    write_film(home)
    env = {**os.environ, "FILM_HOME": str(home), "DAGSTER_HOME": str(home)}
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
                            capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_the_code_location_serves_every_film(home):
    write_film(home)
    write_film(home, name="second")
    from film_pipeline.definitions import build_definitions
    from film_pipeline.home import discover_films

    defs, graphs = build_definitions(discover_films())
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    for slug in ("mini", "second"):
        for name in ("script", "storyboard", "clip", "upscaled_clip", "voiceover", "soundtrack", "final_cut", "visual_spec"):
            assert f"{slug}/{name}" in keys
    assert {g.partitions.name for g in graphs} == {"mini__shots", "second__shots"}


def test_no_progress_turns_off_every_bar_in_the_process_the_models_own_too(tmp_path):
    # transformers converting GGUF weights draws its own tqdm bar: --no-progress must silence it too
    code = ("import sys\nfrom film_pipeline import cli\n"
            "cli.main(['render', '--no-progress', sys.argv[1]])\n"
            "from tqdm.auto import tqdm\nprint('bar disabled:', tqdm(range(2), desc='a model loading').disable)")
    shown = subprocess.run([sys.executable, "-c", code, str(tmp_path / "no-such-film")], capture_output=True, text=True,
                           env={**os.environ, "FILM_HOME": str(tmp_path / "home"), "PYTHONWARNINGS": "ignore"},
                           cwd=REPO, timeout=300)
    assert "bar disabled: True" in shown.stdout, shown.stdout + shown.stderr
    assert "a model loading" not in shown.stderr


def test_the_command_runs_every_exit_handler_then_leaves_the_teardown_to_the_os(tmp_path):
    # Python's teardown took 2 s after a render (freeing torch's and Dagster's objects one by one)
    code = ("import atexit, sys\nfrom film_pipeline import cli\n"
            "class Kept:\n    def __del__(self):\n        print('torn down', flush=True)\n"
            "kept = Kept()\n"
            "def main():\n    atexit.register(lambda: print('exit handler ran'))\n    print('x' * 200_000)\n    return 3\n"
            "cli.main = main\ncli.run()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "FILM_HOME": str(tmp_path / "home")})
    assert done.returncode == 3, done.stderr
    assert done.stdout == "x" * 200_000 + "\nexit handler ran\n", done.stdout[-200:]
    raising = code.replace("    return 3\n", "    raise RuntimeError('escaped')\n")
    done = subprocess.run([sys.executable, "-c", raising], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "FILM_HOME": str(tmp_path / "home")})
    assert done.returncode == 1 and "RuntimeError: escaped" in done.stderr, "an escaped error exits as Python does"
