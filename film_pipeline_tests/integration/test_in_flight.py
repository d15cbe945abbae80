"""`film render` beside the UI's sensor on the same film: a shot whose sensor run is in flight is
left to that run, and so is the cut, as the sensor itself does; the render says so."""

import uuid

import dagster as dg

from film_pipeline.render import open_session, render_film
from film_pipeline_tests.conftest import edit_film, shot


def start_sensor_run(film_dir, shot_id: str) -> dg.DagsterRun:
    """A shot run the sensor launched and that is still running (as the instance records it)."""
    session = open_session(film_dir)
    run = dg.DagsterRun(job_name=session.graph.shot_job, run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED,
                        tags={"film": session.graph.slug, "launched_by": "sensor", "dagster/partition": shot_id})
    session.instance.add_run(run)
    return run


def test_a_shot_the_sensor_is_rendering_is_skipped_and_named(rendered):
    edit_film(rendered, lambda d: [shot(d, "b").update(prompt="a city street in the rain"),
                                   shot(d, "c").update(prompt="the sea at noon")])
    run = start_sensor_run(rendered, "b")
    result = render_film(rendered)
    shots = {partition for _, partition in result.materialized}
    assert "c" in shots and "b" not in shots and None not in shots  # the cut waits for b
    assert [what for what, _ in result.skipped][0] == "shot b" and len(result.skipped) == 2
    assert result.skipped[1][0].startswith("the film's") and "final_cut" in result.skipped[1][0]
    assert run.run_id[:8] in result.skipped[0][1] and "sensor" in result.skipped[0][1]
    assert result.final_cut is None and not result.failures

    open_session(rendered).instance.report_run_failed(run, "the sensor run ended")
    again = render_film(rendered)
    assert {p for _, p in again.materialized} == {"b", None} and not again.skipped, again.materialized
    assert again.final_cut is not None


def test_runs_of_other_films_and_finished_runs_are_not_in_the_way(rendered):
    session = open_session(rendered)
    other = dg.DagsterRun(job_name=session.graph.shot_job, run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED,
                          tags={"film": "another_film", "launched_by": "sensor", "dagster/partition": "b"})
    session.instance.add_run(other)
    edit_film(rendered, lambda d: shot(d, "b").update(prompt="a city street in the rain"))
    result = render_film(rendered)
    assert ("clip", "b") in result.materialized and not result.skipped and result.final_cut is not None


def test_the_runs_a_stopped_ui_left_running_are_failed_and_the_next_render_renders_their_shots(rendered):
    from film_pipeline.ui import fail_runs_it_left

    edit_film(rendered, lambda d: shot(d, "b").update(prompt="a city street in the rain"))
    left = start_sensor_run(rendered, "b")  # the UI was stopped while it ran: its process is gone
    session = open_session(rendered)
    cli_run = dg.DagsterRun(job_name=session.graph.shot_job, run_id=str(uuid.uuid4()),
                            status=dg.DagsterRunStatus.STARTED, tags={"film": session.graph.slug,
                                                                     "launched_by": "film-cli", "dagster/partition": "c"})
    session.instance.add_run(cli_run)  # a `film render` beside it, still running: its own to end
    assert fail_runs_it_left() == [left.run_id]
    assert session.instance.get_run_by_id(left.run_id).status == dg.DagsterRunStatus.FAILURE
    assert session.instance.get_run_by_id(cli_run.run_id).status == dg.DagsterRunStatus.STARTED
    session.instance.report_run_failed(cli_run, "ended")
    result = render_film(rendered)
    assert ("clip", "b") in result.materialized and not result.skipped and result.final_cut is not None
