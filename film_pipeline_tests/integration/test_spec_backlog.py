"""A render observes a never-rendered shot's specs just before its run (a 10,000-shot film's
first render starts at once), an edited shot's before planning, and every spec exactly once."""

import dagster as dg

from film_pipeline import observation
from film_pipeline.dagster_internals import latest_versions_by_partition
from film_pipeline.graph import SHOT_ASSETS, SHOT_SOURCES
from film_pipeline.render import open_session, render_film
from film_pipeline_tests.conftest import edit_film, shot, write_film


def observed_shots(session, source: str = "visual_spec") -> set[str]:
    return set(latest_versions_by_partition(session.instance, session.graph.key(source), observed=True))


def observations_per_spec(session) -> dict[tuple[str, str], int]:
    counts = {}
    for source in SHOT_SOURCES:
        records = session.instance.fetch_observations(dg.AssetRecordsFilter(session.graph.key(source)), limit=1000).records
        for record in records:
            counts[(source, record.partition_key)] = counts.get((source, record.partition_key), 0) + 1
    return counts


def render_watching(film_dir, session_dir=None):
    """Render; at each shot's first step, which shots' specs the instance had recorded."""
    session = open_session(session_dir or film_dir)
    seen = {}

    def on_step(event, asset, shot_id):
        if event == "started" and shot_id is not None and shot_id not in seen:
            seen[shot_id] = observed_shots(session)

    result = render_film(film_dir, on_step=on_step)
    assert not result.failures, result.failures
    return result, seen, session


def test_a_first_render_observes_each_shot_just_before_its_run_and_each_spec_once(home, monkeypatch):
    monkeypatch.setattr(observation, "FIRST_CHUNK", 1)  # the mini film's three shots in two chunks: 1, then 2
    film_dir = write_film(home)
    result, seen, session = render_watching(film_dir)
    assert seen == {"a": {"a"}, "b": {"a", "b", "c"}, "c": {"a", "b", "c"}}
    assert result.final_cut is not None
    assert observations_per_spec(session) == {(source, s): 1 for source in SHOT_SOURCES for s in "abc"}
    again = render_film(film_dir)
    assert again.materialized == [] and not again.failures, "the observed versions are film.yaml's: a no-op stays one"
    assert observations_per_spec(session) == {(source, s): 1 for source in SHOT_SOURCES for s in "abc"}


def test_an_edited_shot_is_observed_before_planning_and_a_new_shot_before_its_run(rendered):
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    edit_film(rendered, lambda doc: doc["shots"].append({"id": "d", "prompt": "a harbour at noon", "duration": 1.0}))
    result, seen, session = render_watching(rendered)
    assert list(seen) == ["b", "d"]
    assert "d" not in seen["b"], "the new shot is observed when its run comes, not before the first run"
    assert "d" in seen["d"]
    reasons = {(state.asset, state.partition): state.reason for state in result.plan.states}
    assert reasons[("storyboard", "b")] == "visual_spec changed", "the edit was observed before the plan was made"
    assert reasons[("storyboard", "d")] == "never rendered"
    assert result.final_cut is not None
    assert render_film(rendered).materialized == []


def test_a_render_reads_film_yaml_once(rendered, monkeypatch):
    """A feature's film.yaml takes seconds to read: the render plans, observes and builds its
    Dagster definitions from the one reading (they once read it three times)."""
    import film_pipeline.film as film_module

    reads = []
    real = film_module.fast_load
    monkeypatch.setattr(film_module, "fast_load", lambda text: (reads.append(len(text)), real(text))[1])
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    monkeypatch.chdir(rendered.parent)
    result = render_film("mini")  # as `film render mini` names it: relative, as users write it
    assert not result.failures and ("storyboard", "b") in result.materialized
    assert len(reads) == 1


def test_a_spec_that_cannot_be_computed_when_its_shot_comes_says_so_and_keeps_the_shots_before_it(home, monkeypatch):
    import pytest

    from film_pipeline.defs.jobs import ObservationError

    monkeypatch.setattr(observation, "FIRST_CHUNK", 1)
    real = observation.SHOT_SPECS["motion_spec"]

    def motion_spec(film, shot, profile):
        if shot.id == "c":
            raise ValueError("no camera for shot c")
        return real(film, shot, profile)

    monkeypatch.setitem(observation.SHOT_SPECS, "motion_spec", motion_spec)
    film_dir = write_film(home)
    with pytest.raises(ObservationError, match=r"could not read the specs of .*film\.yaml: ValueError: no camera for shot c"):
        render_film(film_dir)
    session = open_session(film_dir)
    rendered = set(latest_versions_by_partition(session.instance, session.graph.key("upscaled_clip")))
    assert rendered == {"a"}, "the shot rendered before the failing chunk stays rendered"
    monkeypatch.setitem(observation.SHOT_SPECS, "motion_spec", real)
    result = render_film(film_dir)
    assert not result.failures and {s for name, s in result.materialized if name == "upscaled_clip"} == {"b", "c"}


def test_plan_and_status_leave_a_never_rendered_shots_specs_to_its_render(home, monkeypatch):
    """A render stopped at once (Ctrl-C) leaves its shots registered and unobserved: `film status`
    then reports them missing without recording their specs (10,000 shots: 40,000 observations)."""
    from film_pipeline.defs.film_graph import sync_shot_partitions
    from film_pipeline.render import current_plan

    film_dir = write_film(home)
    session = open_session(film_dir)
    sync_shot_partitions(session.instance, session.graph.partitions.name, ["a", "b", "c"])
    _, plan = current_plan(film_dir)
    assert {(s.asset, s.partition): s.status for s in plan.states if s.partition} == \
        {(asset, shot): "missing" for asset in SHOT_ASSETS for shot in "abc"}
    assert observed_shots(session) == set() and observations_per_spec(session) == {}
    result = render_film(film_dir)
    assert not result.failures and observations_per_spec(session) == {(source, s): 1 for source in SHOT_SOURCES for s in "abc"}
