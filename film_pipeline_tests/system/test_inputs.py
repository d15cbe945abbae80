"""What `film` says about film dirs it cannot use, about symlinked films, and about curating a
film while another render runs: one clear message (exit 2 or 3), never a traceback, and nothing
written that the user did not ask for."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from film_pipeline.cli import main
from film_pipeline.film import film_location, film_slug
from film_pipeline_tests.conftest import write_film

TINY = """\
title: Tiny
fps: 4
resolution: [32, 18]
shots:
  - id: a
    prompt: the sea at dawn
    duration: 0.5
    takes: 2
"""
BROKEN = "title: Tiny\nshots:\n  - id: a\n    prompt: x\n    camra: static\n"  # line 5: unknown key


REPO = Path(__file__).resolve().parents[2]


def film(*args, home: Path, cwd: Path | None = None):
    # run from the film's home (paths as a user types them), importing this checkout's package
    env = {**os.environ, "FILM_HOME": str(home), "PYTHONWARNINGS": "ignore",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "film_pipeline.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd or home, timeout=600)


def run_main(capsys, *args) -> tuple[int, str, str]:
    code = main([*map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def one_clear_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and out == ""
    assert err.startswith("film: ") and "fix:" in err, err
    for fragment in fragments:
        assert fragment in err, err


# ---- A: a film dir or film.yaml the pipeline cannot read -----------------------------------

def test_a_film_yaml_that_is_a_directory_is_one_clear_error(home):
    (home / "films" / "x" / "film.yaml").mkdir(parents=True)
    for command in ("render", "plan", "status"):
        result = film(command, "films/x", home=home)
        one_clear_error(result.returncode, result.stdout, result.stderr,
                        "films/x/film.yaml: is a directory, not a file", "rmdir films/x/film.yaml")
    given_the_file = film("plan", "films/x/film.yaml", home=home)
    one_clear_error(given_the_file.returncode, given_the_file.stdout, given_the_file.stderr,
                    "films/x/film.yaml: is a directory")


def test_a_missing_film_dir_is_named(home, capsys):
    one_clear_error(*run_main(capsys, "plan", home / "films" / "nope"), f"{home / 'films' / 'nope'}: no such film directory")


def test_a_file_given_as_the_film_dir_is_named(home, capsys):
    notes = home / "notes.txt"
    notes.write_text("hello")
    one_clear_error(*run_main(capsys, "status", notes), f"{notes}: is a file, not a film directory")


def test_an_empty_film_yaml_is_named(home, capsys):
    film_dir = write_film(home, "")
    one_clear_error(*run_main(capsys, "plan", film_dir), f"{film_dir / 'film.yaml'}: film.yaml is empty")


def test_a_film_yaml_that_is_not_utf8_is_named(home, capsys):
    film_dir = write_film(home)
    (film_dir / "film.yaml").write_bytes(b"title: caf\xe9\nshots: []\n")
    one_clear_error(*run_main(capsys, "render", film_dir, "--no-progress"), f"{film_dir / 'film.yaml'}: not UTF-8 text")


def test_an_unreadable_film_yaml_is_named(home, capsys, monkeypatch):
    film_dir = write_film(home)
    path = film_dir / "film.yaml"
    if os.geteuid() == 0:  # root reads a chmod 000 file: make the read itself refuse
        read_text = Path.read_text

        def refuse(self, *args, **kwargs):
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return read_text(self, *args, **kwargs)

        monkeypatch.setattr(Path, "read_text", refuse)
    else:
        path.chmod(0)
    try:
        one_clear_error(*run_main(capsys, "plan", film_dir), f"{path}: cannot be read: permission denied", "chmod u+r")
    finally:
        path.chmod(0o644)


def test_a_dangling_film_yaml_symlink_is_named(home, capsys):
    film_dir = home / "films" / "x"
    film_dir.mkdir(parents=True)
    (film_dir / "film.yaml").symlink_to(home / "gone.yaml")
    one_clear_error(*run_main(capsys, "plan", film_dir), f"{film_dir / 'film.yaml'}: is a symlink to", "gone.yaml")


def test_a_film_yaml_symlink_loop_is_named(home, capsys):
    film_dir = home / "films" / "x"
    film_dir.mkdir(parents=True)
    (film_dir / "film.yaml").symlink_to("film.yaml")
    one_clear_error(*run_main(capsys, "status", film_dir), f"{film_dir / 'film.yaml'}: is a symlink loop")


@pytest.mark.parametrize("name", ["x" * 300, "a/" * 2200], ids=["name", "path"])
def test_a_path_too_long_is_one_clear_error(home, capsys, name):
    for command in ("plan", "render"):
        one_clear_error(*run_main(capsys, command, name, *(["--no-progress"] if command == "render" else [])),
                        "the path is too long", "at most 255 bytes")


# ---- B: symlinked films keep the name the user gave them ------------------------------------

@pytest.fixture
def aliased(home) -> Path:
    """films/real/film.yaml, and films/alias/film.yaml a symlink to it."""
    real = write_film(home, TINY, name="real")
    alias = home / "films" / "alias"
    alias.mkdir()
    (alias / "film.yaml").symlink_to(Path("..") / "real" / "film.yaml")
    return alias


def test_errors_quote_a_symlinked_film_yaml_as_the_user_typed_it(home, aliased):
    (home / "films" / "real" / "film.yaml").write_text(BROKEN)
    result = film("plan", "films/alias", home=home)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("film: films/alias/film.yaml:5: unknown key `camra`"), result.stderr
    assert "real" not in result.stderr


def test_errors_quote_a_symlinked_film_dir_as_the_user_typed_it(home):
    write_film(home, BROKEN, name="real")
    (home / "films" / "linked").symlink_to("real", target_is_directory=True)
    result = film("status", "films/linked", home=home)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("film: films/linked/film.yaml:5: unknown key `camra`"), result.stderr
    assert "real" not in result.stderr


def test_a_film_with_a_symlinked_film_yaml_is_its_own_dir_s_film(home, aliased):
    result = film("render", "films/alias", "--json", "--no-progress", home=home)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["film"] == "alias" and f"{os.sep}alias{os.sep}" in doc["final_cut"]
    assert json.loads((home / "films.json").read_text()) == {"alias": str(home.resolve() / "films" / "alias")}
    plan = film("plan", "films/alias", "--json", home=home)
    assert json.loads(plan.stdout) == {"film": "alias", "render": []}


def test_a_symlinked_film_dir_is_planned_under_its_own_name(home):
    write_film(home, TINY, name="real")
    (home / "films" / "linked").symlink_to("real", target_is_directory=True)
    plan = film("plan", "films/linked", "--json", home=home)
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["film"] == "linked"


def old_slug(film_dir) -> str:
    """film_slug as it was: data versions and asset keys of ordinary films must not move."""
    slug = re.sub(r"[^A-Za-z0-9_]", "_", Path(film_dir).resolve().name)
    return slug if slug and not slug[0].isdigit() else f"film_{slug}"


def test_ordinary_film_dirs_keep_their_slugs_and_paths(tmp_path, monkeypatch):
    real_root = tmp_path / "real-root"
    for name in ("mini", "2nd film", "a.b-c"):
        (real_root / "films" / name).mkdir(parents=True)
    (tmp_path / "linked-root").symlink_to(real_root, target_is_directory=True)  # a symlink above the film is followed
    monkeypatch.chdir(real_root / "films" / "mini")
    dirs = [real_root / "films" / "mini", tmp_path / "linked-root" / "films" / "2nd film",
            tmp_path / "linked-root" / "films" / "a.b-c", ".", "..", "../mini", "../mini/", "../../films/mini/."]
    for film_dir in dirs:
        assert film_slug(film_dir) == old_slug(film_dir), film_dir
        assert film_location(film_dir) == Path(film_dir).resolve(), film_dir


# ---- D: curation refuses to edit film.yaml under a running render ---------------------------

def hold_render_lock(home: Path) -> subprocess.Popen:
    """Another process holding FILM_HOME's render lock, as a running render does."""
    code = ("import sys\nfrom film_pipeline.render import render_lock\n"
            "with render_lock():\n    print('held', flush=True)\n    sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "FILM_HOME": str(home)}, cwd=REPO)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_pick_during_a_render_changes_nothing_and_says_so(home):
    film_dir = write_film(home, TINY)
    before = (film_dir / "film.yaml").read_bytes()
    holder = hold_render_lock(home)
    try:
        busy = film("pick", film_dir, "a", "2", "--no-progress", home=home)
    finally:
        holder.communicate("")
    assert busy.returncode == 3, busy.stderr
    assert "Traceback" not in busy.stderr and f"another render is running on {home}" in busy.stderr
    assert "Nothing was changed" in busy.stderr and "film.yaml is as it was" in busy.stderr
    assert "again once that render has finished" in busy.stderr
    assert (film_dir / "film.yaml").read_bytes() == before

    done = film("pick", film_dir, "a", "2", "--json", "--no-progress", home=home)  # the lock is free: the pick
    assert done.returncode == 0, done.stderr                                        # and its render both run
    assert "pick: 2" in (film_dir / "film.yaml").read_text()
    assert json.loads(done.stdout)["final_cut"]


def test_rollback_during_a_render_changes_nothing_and_says_so(rendered):
    home = rendered.parent.parent
    history = json.loads(film("history", rendered, "b", "--json", home=home).stdout)
    version = next(row["version"] for row in history if row["asset"] == "storyboard")
    (rendered / "film.yaml").write_text((rendered / "film.yaml").read_text().replace("a city street at night",
                                                                                      "a city street at noon"))
    before = (rendered / "film.yaml").read_bytes()
    holder = hold_render_lock(home)
    try:
        busy = film("rollback", rendered, "b", "--to", version, "--no-progress", home=home)
    finally:
        holder.communicate("")
    assert busy.returncode == 3, busy.stderr
    assert "Nothing was changed" in busy.stderr and "Traceback" not in busy.stderr
    assert (rendered / "film.yaml").read_bytes() == before
