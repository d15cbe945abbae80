"""script: the film spec written as script.json with its timeline, and the facts shown in the UI."""

from film_pipeline.stages import script
from film_pipeline.timeline import Placement, total_frames
from film_pipeline_tests.conftest import MINI_FILM


def test_timeline_places_every_shot_and_totals_the_frames(pipeline):
    placements = script.timeline(pipeline.spec("film_spec"))
    # a: 8 frames crossfading 4 into b (12 frames, cut), c: 8 frames fading out
    assert [(p.shot_id, p.start, p.frames) for p in placements] == [("a", 0, 8), ("b", 4, 12), ("c", 16, 8)]
    assert placements[1].crossfade_in == 4 and placements[2].fade_out == 4
    assert total_frames(placements) == 24


def test_written_script_round_trips_through_read(pipeline):
    spec = pipeline.spec("film_spec")
    files, info = pipeline.script()
    assert set(files) == {"script"} and files["script"].name == "script.json"
    doc = script.read(files["script"])
    assert doc["film"] == spec
    assert [Placement(**p) for p in doc["timeline"]] == script.timeline(spec)


def test_facts_name_the_film_and_its_length(pipeline):
    _, info = pipeline.script()
    assert info["title"] == "Mini" and info["shots"] == 3 and info["profile"] == "preview"
    assert info["duration_seconds"] == 3.0  # 24 frames at 8 fps
    assert info["seed"] == 3 and info["expanded_prompts"] == "none"
    rows = info["shot_list"]["md"].splitlines()[2:]
    assert len(rows) == 3 and "`b`" in rows[1] and "1.5s" in rows[1] and "pan_left" in rows[1]


def test_expanded_prompts_are_listed_per_shot(pipeline, workdir):
    spec = {**pipeline.spec("film_spec"), "expansions": {"b": "a city street at night, neon in the rain"}}
    _, info = script.render(spec, workdir)
    assert "| `b` | a city street at night, neon in the rain |" in info["expanded_prompts"]["md"]


def test_a_longer_shot_lengthens_the_timeline(pipeline_for):
    longer = pipeline_for(MINI_FILM.replace("duration: 1.5", "duration: 3.0"))
    _, info = longer.script()
    assert info["duration_seconds"] == 4.5
    assert script.read(longer.made[("script", None)][0]["script"])["timeline"][2]["start"] == 28
