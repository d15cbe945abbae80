"""Every exit code the README documents, each reached the way a user reaches it, with its one
clear message: 0 done, 1 a step failed, 2 bad input, 3 busy, 4 store down or refusing the keys,
5 workers unusable, 6 FILM_HOME cannot be written (read-only or full), 130 Ctrl-C."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from film_pipeline.processes import free_port
from film_pipeline.render import render_lock
from film_pipeline_tests.conftest import FILM, write_film
from film_pipeline_tests.system.test_failures import SLOW_FILM, wait_for

pytestmark = pytest.mark.xdist_group("exit-codes")


def film(*args: str, home: Path, module: str | None = None, **env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", module, *args] if module else [FILM, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "FILM_HOME": str(home), **env})


def one_clear_message(run: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in run.stderr, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("film: ")]
    assert lines, run.stderr
    return lines[0]


def test_0_a_render_that_is_up_to_date(rendered):
    run = film("render", str(rendered), "--no-progress", home=rendered.parents[1])
    assert run.returncode == 0 and "already up to date" in run.stdout


def test_1_a_failed_step_is_named_without_the_tool_banner(home):
    film_dir = write_film(home, SLOW_FILM.replace("the sea at night", "a broken sea"))
    run = film("render", str(film_dir), "--no-progress", home=home, module="film_pipeline_tests.slow_backend")
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    failed = [line for line in run.stderr.splitlines() if "storyboard[b]" in line]
    assert len(failed) == 1 and "OSError" in failed[0] and "could not read" in failed[0]
    assert "Invalid data found when processing input" in failed[0]
    assert len(run.stderr) < 1500, run.stderr  # it was 3.7 KB, mostly ffmpeg's banner
    for banner in ("ffmpeg version", "configuration:", "built with", "libavcodec"):
        assert banner not in run.stderr


def test_2_bad_input(rendered):
    (rendered / "film.yaml").write_text("title: [unclosed\n")
    run = film("plan", str(rendered), home=rendered.parents[1])
    assert run.returncode == 2 and "film.yaml" in one_clear_message(run)


def test_3_another_render_holds_the_home(rendered, monkeypatch):
    with render_lock():
        run = film("render", str(rendered), "--no-progress", home=rendered.parents[1])
    assert run.returncode == 3 and "another render is running" in one_clear_message(run)


@pytest.mark.parametrize("command", ["render", "plan", "status"])
def test_4_the_store_is_down(rendered, command):
    run = film(command, str(rendered), home=rendered.parents[1], FILM_STORE="s3://films/x",
               FILM_S3_ENDPOINT=f"127.0.0.1:{free_port()}", FILM_S3_ACCESS_KEY="k", FILM_S3_SECRET_KEY="s",
               FILM_S3_ATTEMPTS="1")
    assert run.returncode == 4, run.stderr
    assert "DagsterExecutionInterruptedError" not in run.stderr and "could not read the specs" not in run.stderr
    one_clear_message(run)


def test_4_the_store_refuses_the_keys(rendered, s3_server):
    env = {**s3_server.env(), "FILM_STORE": f"s3://{s3_server.bucket}/refused", "FILM_S3_SECRET_KEY": "not-the-key"}
    run = film("plan", str(rendered), home=rendered.parents[1], **env)
    assert run.returncode == 4, run.stderr
    message = one_clear_message(run)
    assert "not-the-key" not in run.stderr + run.stdout and "could not read the specs" not in message


def test_5_a_worker_setting_that_cannot_be_used(rendered):
    run = film("render", str(rendered), home=rendered.parents[1], FILM_WORKER_LOST_AFTER="soon")
    assert run.returncode == 5 and "FILM_WORKER_LOST_AFTER" in one_clear_message(run)


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of its own (root only), so the test can make it read-only or full."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)]).returncode:
        pytest.skip("needs root to mount a tmpfs")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def copy_rendered(rendered: Path, into: Path) -> Path:
    home = into / "home"
    shutil.copytree(rendered.parents[1], home)
    return home / "films" / "mini"


@pytest.mark.parametrize("command", ["render", "plan", "status"])
def test_6_a_read_only_home(rendered, small_disk, command):
    film_dir = copy_rendered(rendered, small_disk)
    before = {p: p.read_bytes() for p in small_disk.rglob("*") if p.is_file()}
    (film_dir / "film.yaml").write_text((film_dir / "film.yaml").read_text().replace("the sea at dawn", "a new sea"))
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    run = film(command, str(film_dir), "--no-progress" if command == "render" else "--json",
               home=film_dir.parents[1])
    assert run.returncode == 6, run.stderr
    message = one_clear_message(run)
    assert str(small_disk) in message and "writable" in message
    for path, data in before.items():
        if path.name != "film.yaml":
            assert path.read_bytes() == data  # nothing lost


def test_6_a_full_disk_then_the_render_resumes_when_space_is_freed(rendered, small_disk):
    film_dir = copy_rendered(rendered, small_disk)
    (film_dir / "film.yaml").write_text((film_dir / "film.yaml").read_text().replace("the sea at dawn", "a new sea"))
    filler = small_disk / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "count=200"], capture_output=True)
    run = film("render", str(film_dir), "--no-progress", home=film_dir.parents[1])
    assert run.returncode == 6, run.stderr
    message = one_clear_message(run)
    assert "Free some space" in message or "Free some space" in run.stderr
    filler.unlink()
    again = film("render", str(film_dir), "--no-progress", "--json", home=film_dir.parents[1])
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["final_cut"]


def interrupt_when(marker: Path, process: subprocess.Popen) -> subprocess.CompletedProcess:
    wait_for(marker, process)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends the foreground process
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.mark.parametrize("during", ["observation", "step"])
def test_130_ctrl_c_says_how_to_resume(home, during):
    later_shot = "  - {id: d, prompt: a gull over the sea, duration: 1.0}\n"
    film_dir = write_film(home, SLOW_FILM + later_shot)
    marker = home / "holding"
    variable = "FILM_SLOW_OBSERVE_MARKER" if during == "observation" else "FILM_SLOW_MARKER"
    process = subprocess.Popen([sys.executable, "-m", "film_pipeline_tests.slow_backend", "render", str(film_dir),
                                "--no-progress"], env={**os.environ, "FILM_HOME": str(home), variable: str(marker)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    run = interrupt_when(marker, process)
    assert run.returncode == 130, run.stderr
    assert "interrupted" in one_clear_message(run) and "run the same command to resume" in run.stderr
    assert "DagsterExecutionInterruptedError" not in run.stderr
    assert not list(home.glob("store/*/storyboard/d")), "the render went on to the next shot after Ctrl-C"
