"""Curation: takes and their scores, picks that keep film.yaml's comments, history, undo for free,
rollback, films sharing a shot, and what a film costs."""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from film_pipeline import graph, materialize
from film_pipeline.cost import Prices, cost_report
from film_pipeline.curation import history, rollback, takes
from film_pipeline.render import final_cut_path, open_session, render_film
from film_pipeline_tests.conftest import edit_film, shot

FILM = [sys.executable, "-m", "film_pipeline.cli"]


def film(*args) -> subprocess.CompletedProcess:
    return subprocess.run(FILM + [str(a) for a in args], capture_output=True, text=True, timeout=600)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def generations() -> int:
    return sum(materialize.GENERATIONS.values())


def test_takes_are_distinct_scored_candidates_and_the_best_is_used(rendered):
    found = takes(rendered, "b")
    first, second = found["keyframes"]
    assert sha256(first.path) != sha256(second.path)
    assert {t.take for t in found["keyframes"] if t.best} == {max(found["keyframes"], key=lambda t: (t.total, -t.take)).take}
    assert [t.used for t in found["keyframes"]] == [t.best for t in found["keyframes"]]  # no `pick:`: the best
    assert found["sheet"].name.endswith("takes_sheet.png")
    cli = film("takes", rendered, "b", "--json")
    assert cli.returncode == 0, cli.stderr
    listed = json.loads(cli.stdout)
    assert [t["total"] for t in listed["keyframes"]] == [t.total for t in found["keyframes"]]
    assert Path(listed["sheet"]).exists()


def test_the_best_take_is_deterministic(rendered, tmp_path, monkeypatch):
    here = [(t.take, t.total, t.best) for t in takes(rendered, "b")["keyframes"]]
    again = tmp_path / "again"
    (again / "films").mkdir(parents=True)
    shutil.copytree(rendered, again / "films" / "mini", ignore=shutil.ignore_patterns("*.lock"))
    monkeypatch.setenv("FILM_HOME", str(again))
    assert not render_film(again / "films" / "mini").failures
    assert [(t.take, t.total, t.best) for t in takes(again / "films" / "mini", "b")["keyframes"]] == here


def test_clip_takes_render_candidates_and_clip_pick_chooses_one(rendered):
    edit_film(rendered, lambda doc: shot(doc, "a").__setitem__("clip_takes", 2))
    result = render_film(rendered)
    assert {(a, p) for a, p in result.materialized if p == "a"} == {("clip", "a"), ("upscaled_clip", "a")}
    clips = takes(rendered, "a")["clips"]
    assert len(clips) == 2 and sha256(clips[0].path) != sha256(clips[1].path)
    best = next(t.take for t in clips if t.best)
    assert next(t.take for t in clips if t.used) == best
    other = 3 - best
    edit_film(rendered, lambda doc: shot(doc, "a").__setitem__("clip_pick", other))
    render_film(rendered)
    assert next(t.take for t in takes(rendered, "a")["clips"] if t.used) == other


def test_film_pick_rerenders_only_the_shots_downstream_and_keeps_comments(rendered):
    path = rendered / "film.yaml"
    path.write_text(path.read_text().replace("    takes: 2\n", "    takes: 2  # two looks at the street\n"))
    before = path.read_text()
    best = next(t.take for t in takes(rendered, "b")["keyframes"] if t.best)
    other = 3 - best
    result = film("pick", rendered, "b", other, "--json", "--no-progress")
    assert result.returncode == 0, result.stderr
    rendered_now = {(m["asset"], m["partition"]) for m in json.loads(result.stdout)["materialized"]}
    assert rendered_now == {("clip", "b"), ("upscaled_clip", "b"), ("final_cut", None), ("timeline_export", None)}
    after = path.read_text()
    assert "# A small film that exercises every stage quickly." in after and "# two looks at the street" in after
    assert [line for line in after.splitlines() if line not in before.splitlines()] == [f"    pick: {other}"]
    assert next(t.take for t in takes(rendered, "b")["keyframes"] if t.used) == other

    back = film("pick", rendered, "b", 0, "--json", "--no-progress")  # back to the best: an earlier version, free
    assert back.returncode == 0, back.stderr
    session = open_session(rendered)
    for name in ("clip", "upscaled_clip", "final_cut"):
        record = session.instance.get_latest_data_version_record(session.graph.key(name), False, None if name == "final_cut" else "b")
        assert record.event_log_entry.asset_materialization.metadata["reused"].value is True
    assert path.read_text() == before


def test_a_pick_out_of_range_is_a_clear_error_and_changes_nothing(rendered):
    before = (rendered / "film.yaml").read_text()
    result = film("pick", rendered, "b", 5)
    assert result.returncode == 2 and "has 2 take(s)" in result.stderr and "Traceback" not in result.stderr
    assert (rendered / "film.yaml").read_text() == before


def test_reverting_an_edit_generates_nothing_and_restores_the_same_cut(rendered):
    original = sha256(final_cut_path(open_session(rendered)))
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the snow"))
    render_film(rendered)
    assert sha256(final_cut_path(open_session(rendered))) != original
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street at night"))
    before = generations()
    result = render_film(rendered)
    assert generations() == before, materialize.GENERATIONS  # every artifact came from the store
    assert ("final_cut", None) in result.materialized
    assert sha256(final_cut_path(open_session(rendered))) == original


def test_history_lists_every_version_in_order(rendered):
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the snow"))
    render_film(rendered)
    rows = [r for r in history(rendered, "b") if r["asset"] == "storyboard"]
    assert [r["prompt"] for r in rows] == ["a city street at night", "a city street in the snow"]
    assert rows[0]["time"] <= rows[1]["time"] and rows[0]["version"] != rows[1]["version"]
    assert all(r["profile"] == "preview" and r["seed"] and r["uri"].startswith("file://") for r in rows)
    cli = film("history", rendered, "b", "--json")
    assert cli.returncode == 0 and [r["version"] for r in json.loads(cli.stdout)] == [r["version"] for r in history(rendered, "b")]


def test_rollback_restores_the_spec_and_renders_from_the_store(rendered):
    original_cut = sha256(final_cut_path(open_session(rendered)))
    first = next(r for r in history(rendered, "b") if r["asset"] == "storyboard")["version"]
    edit_film(rendered, lambda doc: (shot(doc, "b").__setitem__("prompt", "a city street in the snow"),
                                     shot(doc, "b").__setitem__("camera", "push_in")))
    render_film(rendered)
    result = film("rollback", rendered, "b", "--to", first, "--json", "--no-progress")
    assert result.returncode == 0, result.stderr
    text = (rendered / "film.yaml").read_text()
    assert "prompt: a city street at night" in text and "camera: pan_left" in text
    session = open_session(rendered)
    assert sha256(final_cut_path(session)) == original_cut
    for name in ("storyboard", "clip", "upscaled_clip"):  # the CLI's render took them from the store
        record = session.instance.get_latest_data_version_record(session.graph.key(name), False, "b")
        assert record.event_log_entry.asset_materialization.metadata["reused"].value is True
    assert "no version `nope`" in film("rollback", rendered, "b", "--to", "nope").stderr


def test_a_shot_two_films_share_is_made_once(rendered):
    twin = rendered.parent / "twin"
    shutil.copytree(rendered, twin)
    before = generations()
    result = render_film(twin)
    assert not result.failures and result.final_cut is not None
    assert generations() == before, materialize.GENERATIONS
    assert sha256(result.final_cut) == sha256(final_cut_path(open_session(rendered)))


def test_cost_report_sums_match_the_recorded_metadata(rendered):
    session = open_session(rendered)
    prices = Prices(gpu_hour=3.0, cpu_hour=0.5)
    report = cost_report(session.instance, session.graph, ["a", "b", "c"], prices).as_dict()
    seconds = []
    for name in graph.SHOT_ASSETS + graph.FILM_ASSETS:
        for partition in (["a", "b", "c"] if name in graph.SHOT_ASSETS else [None]):
            record = session.instance.get_latest_data_version_record(session.graph.key(name), False, partition)
            meta = record.event_log_entry.asset_materialization.metadata
            assert meta["device"].value == "cpu"
            seconds.append(meta["seconds"].value)
    assert report["current"]["total"]["seconds"] == pytest.approx(sum(seconds), abs=1e-3)
    assert report["current"]["total"]["usd"] == pytest.approx(sum(seconds) / 3600 * 0.5, abs=1e-6)
    assert sum(v["seconds"] for v in report["current"]["per_stage"].values()) == pytest.approx(sum(seconds), abs=1e-3)
    assert sum(v["seconds"] for v in report["current"]["per_shot"].values()) == pytest.approx(sum(seconds), abs=1e-3)
    minutes = report["film_seconds"] / 60
    assert report["current"]["usd_per_finished_minute"] == pytest.approx(report["current"]["total"]["usd"] / minutes, abs=1e-6)
    cli = film("cost", rendered, "--json", "--gpu-hour", "3", "--cpu-hour", "0.5")
    assert cli.returncode == 0 and json.loads(cli.stdout)["current"]["total"] == report["current"]["total"]
