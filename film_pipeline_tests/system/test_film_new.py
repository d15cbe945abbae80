"""`film new` as people run it: a Fountain screenplay, a logline or nothing becomes a film.yaml that
renders as it stands (here at a small size), never over an existing one."""

import json
import os
import subprocess
import sys
from pathlib import Path

from film_pipeline import cli
from film_pipeline.film import load_film
from film_pipeline.render import render_film
from film_pipeline.writers_room.logline import content_words
from film_pipeline_tests.conftest import edit_film

REPO = Path(__file__).resolve().parents[2]
SCREENPLAYS = REPO / "film_pipeline_tests" / "screenplays"
LOGLINE = "A lighthouse keeper and her robot guard the last light on the coast through one long night."


def film(*args, home: Path):
    env = {**os.environ, "FILM_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "film_pipeline.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=600)


def small(film_dir: Path) -> None:
    """The film as imported, at a size a test renders in seconds."""
    def shrink(doc):
        doc["resolution"] = [64, 36]
        doc["fps"] = 6
    edit_film(film_dir, shrink)


def test_a_screenplay_with_every_element_imports_and_renders(home, tmp_path):
    film_dir = home / "films" / "ferry"
    made = film("new", film_dir, "--from", SCREENPLAYS / "every_element.fountain", "--json", home=home)
    assert made.returncode == 0, made.stderr
    doc = json.loads(made.stdout)
    assert doc["path"] == str(film_dir / "film.yaml") and doc["source"].endswith("every_element.fountain")
    assert doc["characters"] == ["june", "bosun", "mctavish"] and doc["backup"] is None
    assert [w["line"] for w in doc["warnings"]] == [54]  # `> WHIP PAN TO:`: no such transition in film.yaml
    imported = load_film(film_dir)
    assert doc["shots"] == len(imported.shots) == 7

    # the same screenplay with Windows line ends and tabs makes the same film
    crlf = tmp_path / "every_element.fountain"
    crlf.write_bytes((SCREENPLAYS / "every_element.fountain").read_bytes().replace(b"\n", b"\r\n")
                     .replace(b"\r\nJUNE\r\n(breathless)", b"\r\n\tJUNE\r\n\t\t(breathless)"))
    again = film("new", home / "films" / "ferry-crlf", "--from", crlf, home=home)
    assert again.returncode == 0, again.stderr
    assert "7 shot(s), 3 character(s)" in again.stdout and "line 54: transition `WHIP PAN TO:`" in again.stderr
    assert load_film(home / "films" / "ferry-crlf").shots == imported.shots

    small(film_dir)
    result = render_film(film_dir)
    assert not result.failures, result.failures
    assert result.final_cut is not None and Path(result.final_cut).stat().st_size > 0
    assert {p for _, p in result.materialized if p} == {s.id for s in imported.shots}


def test_the_template_renders(home):
    film_dir = home / "films" / "first-film"
    made = film("new", film_dir, home=home)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"{film_dir / 'film.yaml'}: 3 shot(s)") and "film render" in made.stdout
    assert load_film(film_dir).title == "First Film"
    small(film_dir)
    result = render_film(film_dir)
    assert not result.failures, result.failures
    assert result.final_cut is not None


def test_an_existing_film_is_never_overwritten(home):
    film_dir = home / "films" / "mine"
    assert film("new", film_dir, "--from", SCREENPLAYS / "lamplighter.fountain", home=home).returncode == 0
    (film_dir / "film.yaml").write_text((film_dir / "film.yaml").read_text() + "# a line of mine\n")
    refused = film("new", film_dir, home=home)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith(f"film: {film_dir / 'film.yaml'}: already exists") and "--force" in refused.stderr
    assert (film_dir / "film.yaml").read_text().endswith("# a line of mine\n")

    forced = film("new", film_dir, "--force", home=home)
    assert forced.returncode == 0, forced.stderr
    backups = sorted(film_dir.glob("film.yaml.bak-*"))
    assert len(backups) == 1 and backups[0].read_text().endswith("# a line of mine\n")
    assert f"kept as {backups[0]}" in forced.stderr
    assert load_film(film_dir).title == "Mine"

    for args, message in ((["--from", "nowhere.fountain"], "no such screenplay"),
                          (["--logline", "x", "--shots", "99"], "outside 1..20"),
                          (["--profile", "cinema"], "unknown profile `cinema`")):
        bad = film("new", home / "films" / "other", *args, home=home)
        assert bad.returncode == 2 and bad.stderr.startswith("film: ") and message in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr
    usage = film("new", film_dir, "--from", "a.fountain", "--logline", "x", home=home)
    assert usage.returncode == 2 and "not allowed with argument" in usage.stderr


def test_a_logline_becomes_the_same_film_for_the_same_seed(home, capsys):
    """The preview profile's SmolLM2 writes it; run in this process so the model loads once."""
    def new(folder: str, seed: int) -> Path:
        film_dir = home / folder / "keeper"  # the same name: a title the model's answers fail falls back to it
        code = cli.main(["new", str(film_dir), "--logline", LOGLINE, "--shots", "2", "--seed", str(seed), "--json"])
        out = capsys.readouterr().out
        assert code == 0
        assert json.loads(out)["shots"] == 2
        return film_dir / "film.yaml"

    first, second, other = new("one", 3), new("two", 3), new("three", 4)
    assert first.read_text() == second.read_text()
    assert first.read_text() != other.read_text()
    made = load_film(first)
    assert made.logline == LOGLINE
    for shot in made.shots:
        assert set(content_words(shot.prompt)) & set(content_words(LOGLINE)), shot.prompt
    assert made.shots[-1].transition == "fade"
