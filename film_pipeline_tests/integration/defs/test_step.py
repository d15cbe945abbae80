"""A step's inputs as the instance records them: a film-level step reads every shot's version in
one query, and one never made is a clear error that names it."""

import dagster as dg

from film_pipeline.home import get_instance
from film_pipeline.render import QUIET, open_session


def render_alone(film_dir, name: str) -> dg.ExecuteInProcessResult:
    session = open_session(film_dir)
    job = session.defs.resolve_job_def(session.graph.film_job)
    return job.execute_in_process(instance=get_instance(), run_config=QUIET, raise_on_error=False,
                                  asset_selection=[session.graph.key(name)])


def failure_of(result: dg.ExecuteInProcessResult) -> str:
    failures = [event for event in result.all_events if event.is_step_failure]
    assert len(failures) == 1, [event.event_type for event in result.all_events]
    error = failures[0].step_failure_data.error
    return error.message + (error.cause.message if error.cause else "")  # Dagster's wrapper, then ours


def test_a_film_level_step_reads_every_shots_recorded_version(rendered):
    result = render_alone(rendered, "soundtrack")
    assert result.success
    materialized = [event.materialization for event in result.get_asset_materialization_events()]
    assert [m.metadata["reused"].value for m in materialized] == [True]  # the same versions: the same soundtrack


def test_a_shot_input_never_made_is_named(rendered):
    film = rendered / "film.yaml"
    film.write_text(film.read_text() + "  - id: d\n    prompt: a new shot\n    duration: 1.0\n"
                    "  - id: e\n    prompt: another\n    duration: 1.0\n")
    session = open_session(rendered)  # observes the specs, shots d and e among them
    session.defs.resolve_job_def(session.graph.observe_job).execute_in_process(instance=get_instance(), run_config=QUIET)
    message = failure_of(render_alone(rendered, "soundtrack"))
    assert "mini/voiceover[d] has no recorded version (nor does 1 more shot); materialize voiceover[d] first" in message
    assert render_alone(rendered, "script").success
    message = failure_of(render_alone(rendered, "final_cut"))
    assert "mini/upscaled_clip[d] has no recorded version" in message
