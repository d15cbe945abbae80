"""The planner decides staleness from the records alone (one query per asset); Dagster's own
resolver, asked partition by partition, must agree with it on every asset of the mini film
after every kind of edit (below Dagster's 100-partition limit, where Dagster still decides)."""

import pytest

from film_pipeline.dagster_internals import StaleStatuses
from film_pipeline.graph import FILM_ASSETS, SHOT_ASSETS
from film_pipeline.planning import RecordedVersions
from film_pipeline.render import observe_specs, open_session
from film_pipeline_tests.conftest import edit_film, shot
from film_pipeline_tests.integration.test_incremental import EDITS


@pytest.mark.parametrize("edit", ["visual prompt", "camera", "narration", "music cue", "title", "global style",
                                  "upscale factor", "nothing"])
def test_the_planners_statuses_are_dagsters(rendered, edit):
    change, _ = EDITS[edit]
    edit_film(rendered, change)
    session = open_session(rendered)
    observe_specs(session)
    shots = [s.id for s in session.film.shots]
    ours = RecordedVersions(session.graph, session.instance, shots)
    dagsters = StaleStatuses(session.instance, session.defs.resolve_asset_graph())
    steps = [(name, s) for s in shots for name in SHOT_ASSETS] + [(name, None) for name in FILM_ASSETS]
    mine = {step: ours.status(*step)[0] for step in steps}
    theirs = {step: dagsters.status(session.graph.key(step[0]), step[1]) for step in steps}
    assert mine == theirs
    assert (edit == "nothing") == all(status == "fresh" for status in mine.values())


def test_a_stale_shot_says_which_spec_changed(rendered):
    edit_film(rendered, lambda d: shot(d, "a").__setitem__("camera", "push_in"))
    session = open_session(rendered)
    observe_specs(session)
    ours = RecordedVersions(session.graph, session.instance, [s.id for s in session.film.shots])
    assert ours.status("clip", "a") == ("stale", "motion_spec changed")
    assert ours.status("clip", "b") == ("fresh", "")
