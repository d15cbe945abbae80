"""In a render, the final cut's step starts the timeline export in a thread before its final mux
(timeline_export.render_ahead), and the export's step takes it: the stored files are the ones the
step writes when it renders the export alone."""

import threading

from film_pipeline.render import open_session, render_film
from film_pipeline.stages import timeline_export
from film_pipeline.store import open_store
from film_pipeline_tests.conftest import edit_film


def stored_export(film_dir) -> dict[str, str]:
    """The current timeline export's files: role -> sha256, as stored."""
    session = open_session(film_dir)
    manifest = open_store().read_json(session.graph.latest_manifest_key(session.instance, "timeline_export", None))
    return {role: stored["sha256"] for role, stored in manifest["files"].items()}


def test_the_export_made_beside_the_mux_is_the_one_made_alone(rendered, monkeypatch):
    threads, original = [], timeline_export._render
    monkeypatch.setattr(timeline_export, "_render", lambda cut, workdir: (
        threads.append(threading.current_thread().name), original(cut, workdir))[1])
    edit_film(rendered, lambda d: d["shots"][0].__setitem__("prompt", d["shots"][0]["prompt"] + ", at dusk"))
    result = render_film(rendered)
    assert {("final_cut", None), ("timeline_export", None)} <= set(result.materialized)
    assert threads == ["film-export-ahead"], "the export's step rendered it again"
    beside = stored_export(rendered)
    result = render_film(rendered, force=["timeline_export"])  # the cut is kept: nothing starts ahead
    assert set(result.materialized) == {("timeline_export", None)}
    assert threads == ["film-export-ahead", "MainThread"]
    assert stored_export(rendered) == beside


def test_a_head_start_that_fails_leaves_the_cut_and_the_export_to_their_steps(rendered, monkeypatch):
    def unavailable(_cut_of_film):
        raise OSError("no thread can be started")

    original = timeline_export.render_ahead
    monkeypatch.setattr(timeline_export, "render_ahead", unavailable)
    edit_film(rendered, lambda d: d["shots"][0].__setitem__("prompt", d["shots"][0]["prompt"] + ", at noon"))
    result = render_film(rendered)
    assert not result.failures
    assert {("final_cut", None), ("timeline_export", None)} <= set(result.materialized)
    monkeypatch.setattr(timeline_export, "render_ahead", original)  # (undo() would drop the fixture's FILM_HOME)
    made = stored_export(rendered)
    render_film(rendered, force=["timeline_export"])
    assert stored_export(rendered) == made
