"""Every row of DESIGN.md's edit table: an edit re-renders exactly the listed artifacts, nothing more."""

import dagster as dg
import pytest

from film_pipeline.backends.camera import CameraMove
from film_pipeline.backends.score import ProceduralScore

from film_pipeline.home import get_instance
from film_pipeline.defs.jobs import QUIET
from film_pipeline.render import render_film
from film_pipeline_tests.conftest import edit_film, shot

SHOTS = ("a", "b", "c")
FINAL = {("script", None), ("final_cut", None)}
SOUND = {("soundtrack", None)}
CUT = {("final_cut", None)}
SUBS = {("subtitles", None)}  # timed from score_spec (the film's timing) and the voice-overs
EXPORT = {("timeline_export", None)}  # made from the cut: it re-exports whenever the cut re-renders


def chain(shot_id, *assets):
    return {(asset, shot_id) for asset in assets}


VISUAL = ("storyboard", "clip", "upscaled_clip")
MOTION = ("clip", "upscaled_clip")


def _set(doc, key, value):
    doc[key] = value


def _add_shot(doc):
    doc["shots"].append({"id": "d", "prompt": "a forest in the snow", "duration": 1.0, "narration": "The end."})


def _swap_b_c(doc):
    doc["shots"][1], doc["shots"][2] = doc["shots"][2], doc["shots"][1]


EDITS = {
    # edit: (change to film.yaml, exactly what re-renders)
    "visual prompt": (lambda d: shot(d, "b").__setitem__("prompt", "a city street at noon"),
                      chain("b", *VISUAL) | FINAL | EXPORT),
    "shot seed": (lambda d: shot(d, "b").__setitem__("seed", 99), chain("b", *VISUAL) | FINAL | EXPORT),
    "takes": (lambda d: shot(d, "b").__setitem__("takes", 3), chain("b", *VISUAL) | FINAL | EXPORT),
    "character description": (lambda d: d["characters"]["ana"].__setitem__("description", "a girl in a blue coat"),
                              chain("a", *VISUAL) | FINAL | EXPORT | {("characters", None)}),
    "global style": (lambda d: _set(d, "style", "noir"),
                     set().union(*(chain(s, *VISUAL) for s in SHOTS)) | FINAL | EXPORT),
    "camera": (lambda d: shot(d, "a").__setitem__("camera", "push_in"), chain("a", *MOTION) | FINAL | EXPORT),
    "motion prompt": (lambda d: shot(d, "a").__setitem__("motion", "snow falling"), chain("a", *MOTION) | FINAL | EXPORT),
    "pick (the script does not list picks)": (lambda d: shot(d, "b").__setitem__("pick", 2),
                                              chain("b", *MOTION) | CUT | EXPORT),
    "duration (timing moves)": (lambda d: shot(d, "c").__setitem__("duration", 2.0),
                                chain("c", *MOTION) | FINAL | SOUND | SUBS | EXPORT),
    "narration": (lambda d: shot(d, "c").__setitem__("narration", "Good night."),
                  chain("c", "voiceover") | SOUND | SUBS | FINAL | EXPORT),
    "voice": (lambda d: shot(d, "a").__setitem__("voice", "narrator"),
              chain("a", "voiceover") | SOUND | SUBS | FINAL | EXPORT),
    # the subtitles read the film's timing from score_spec, which also holds the cues: remade, identical
    "music cue": (lambda d: d["music"][0].__setitem__("prompt", "dark tense pulse"), SOUND | SUBS | FINAL | EXPORT),
    "title": (lambda d: _set(d, "title", "Maxi"), FINAL | EXPORT),
    "transition, timing unchanged": (lambda d: shot(d, "b").__setitem__("transition", "fade"), FINAL | EXPORT),
    "transition, timing moves": (lambda d: shot(d, "b").__setitem__("transition", "crossfade"),
                                 FINAL | SOUND | SUBS | EXPORT),
    "shot order": (_swap_b_c, FINAL | SOUND | SUBS | EXPORT),
    "new shot": (_add_shot, chain("d", *VISUAL, "voiceover") | FINAL | SOUND | SUBS | EXPORT),
    "deleted shot": (lambda d: d["shots"].pop(1), FINAL | SOUND | SUBS | EXPORT),
    "upscale factor": (lambda d: _set(d, "upscale", 3), {("upscaled_clip", s) for s in SHOTS} | FINAL | EXPORT),
    "per-film model setting": (lambda d: _set(d, "models", {"speech": {"length_scale": 1.2}}),
                               {("voiceover", s) for s in SHOTS} | SOUND | SUBS | FINAL | EXPORT),
    "override equal to the profile": (lambda d: _set(d, "models", {"upscale": {"model": "realesr-animevideov3"}}),
                                      FINAL | EXPORT),
    "end prompt (a second keyframe)": (lambda d: shot(d, "c").__setitem__("end_prompt", "the sea at noon"),
                                       chain("c", *VISUAL) | FINAL | EXPORT),
    "continues (starts on the shot before)": (lambda d: shot(d, "b").__setitem__("continues", True),
                                             chain("b", *MOTION) | FINAL | EXPORT),
    "delivery (the loudness target)": (lambda d: _set(d, "delivery", "broadcast"), FINAL | EXPORT),
    "subtitles off": (lambda d: _set(d, "subtitles", False), FINAL | EXPORT),
    "language": (lambda d: _set(d, "language", "fr"), FINAL | EXPORT),
    "comment only": (lambda d: d.yaml_set_start_comment("a new comment, nothing else"), set()),
    "nothing": (lambda d: None, set()),
}


def materialized(film_dir):
    result = render_film(film_dir)
    assert not result.failures, result.failures
    return set(result.materialized), result


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_re_renders_exactly_what_it_touches(rendered, edit):
    change, expected = EDITS[edit]
    edit_film(rendered, change)
    assert materialized(rendered)[0] == expected
    assert materialized(rendered)[0] == set(), "a second render after the edit must do nothing"


@pytest.mark.parametrize("backend,expected", [
    (CameraMove, {(asset, s) for s in SHOTS for asset in MOTION} | CUT | EXPORT),
    (ProceduralScore, SOUND | SUBS | CUT | EXPORT),  # the script is what the writer wrote: a model change leaves it be
])
def test_a_model_change_re_renders_every_stage_it_renders(rendered, monkeypatch, backend, expected):
    from dataclasses import replace

    from film_pipeline.backends.registry import ENTRIES

    # a new backend version is a bump of its class and of its row in the registry (test_registry checks both)
    (stage, name), entry = next((k, e) for k, e in ENTRIES.items() if e.name == backend.name)
    monkeypatch.setattr(backend, "version", backend.version + "-next")
    monkeypatch.setitem(ENTRIES, (stage, name), replace(entry, version=entry.version + "-next"))
    assert materialized(rendered)[0] == expected


def test_every_asset_records_uri_sha_bytes_seconds_backend_and_seed(rendered):
    instance = get_instance()
    for asset, partition in chain("a", *VISUAL, "voiceover") | FINAL | SOUND:
        record = instance.get_latest_data_version_record(dg.AssetKey(["mini", asset]), False, partition)
        meta = record.event_log_entry.asset_materialization.metadata
        assert {"uri", "sha256", "bytes", "seconds", "backend", "seed"} <= set(meta), (asset, sorted(meta))


def test_deleted_shot_is_retired_but_its_artifacts_stay(rendered):
    store = rendered.parent.parent / "store" / "mini"
    before = sorted(p.name for p in (store / "upscaled_clip" / "b").iterdir())
    edit_film(rendered, lambda d: d["shots"].pop(1))
    materialized(rendered)
    assert "b" not in get_instance().get_dynamic_partitions("mini__shots")
    assert sorted(p.name for p in (store / "upscaled_clip" / "b").iterdir()) == before


def test_reverting_an_edit_reuses_stored_versions(rendered):
    _, first = materialized(rendered)
    original = first.final_cut.read_bytes()
    edit_film(rendered, lambda d: shot(d, "b").__setitem__("prompt", "a city street at noon"))
    _, edited = materialized(rendered)
    assert edited.final_cut != first.final_cut
    edit_film(rendered, lambda d: shot(d, "b").__setitem__("prompt", "a city street at night"))
    done, reverted = materialized(rendered)
    assert done == chain("b", *VISUAL) | FINAL | EXPORT  # Dagster records the move back...
    assert reverted.final_cut == first.final_cut  # ...to the very same stored artifact
    assert reverted.final_cut.read_bytes() == original


@pytest.mark.parametrize("edit, planned, exact", [
    (lambda d: shot(d, "b").__setitem__("pick", 2), ["final_cut", "timeline_export"], "final_cut"),
    (lambda d: shot(d, "c").__setitem__("narration", "a different line"),
     ["script", "soundtrack", "subtitles", "final_cut", "timeline_export"], "soundtrack"),
])
def test_film_level_assets_stay_exact_past_dagsters_partition_limit(rendered, monkeypatch, edit, planned, exact):
    """Past 100 shots Dagster stops comparing the cut with its shots (the limit is lowered to 2
    here, so three shots are "many"). A shot re-rendered by its own run, as the sensor or the UI
    runs it, must still leave the soundtrack and the cut stale."""
    from dagster._core.definitions import data_version
    from film_pipeline.render import current_plan

    monkeypatch.setattr(data_version, "SKIP_PARTITION_DATA_VERSION_DEPENDENCY_THRESHOLD", 2)
    edit_film(rendered, edit)
    session, plan = current_plan(rendered)
    (changed, assets), = plan.shot_runs.items()
    job = session.defs.resolve_job_def(session.graph.shot_job)
    assert job.execute_in_process(instance=session.instance, partition_key=changed, run_config=QUIET,
                                  asset_selection=[session.graph.key(a) for a in assets]).success
    _, after = current_plan(rendered)
    assert after.shot_runs == {}
    assert after.film_assets == planned
    states = {s.asset: s for s in after.states if s.partition is None}
    assert states[exact].reason == "a shot's input changed since it was made"
