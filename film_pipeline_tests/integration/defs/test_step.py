"""A step's inputs as the instance records them: a film-level step reads every shot's version in
one query, and one never made is a clear error that names it."""

import os
from collections import Counter
from pathlib import Path

import dagster as dg

from film_pipeline.home import get_instance
from film_pipeline.render import QUIET, open_session


def render_alone(film_dir, *names: str) -> dg.ExecuteInProcessResult:
    session = open_session(film_dir)
    job = session.defs.resolve_job_def(session.graph.film_job)
    return job.execute_in_process(instance=get_instance(), run_config=QUIET, raise_on_error=False,
                                  asset_selection=[session.graph.key(name) for name in names])


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


def test_each_clip_manifest_is_read_once_a_run_and_each_clip_checked_once_until_it_changes(rendered, monkeypatch):
    from film_pipeline.store import base, local, verified

    monkeypatch.setattr(verified, "SETTLED", 0.0)  # the fixture copied the clips moments ago

    store = rendered.parent.parent / "store" / "mini"
    for name in ("final_cut", "timeline_export"):  # both made again, in one run, from the same clips
        for manifest in (store / name / "_").glob("*.json"):
            manifest.unlink()
    reads, hashed = Counter(), Counter()
    read_json, sha256_file = base.StoreHelpers.read_json, local.sha256_file
    monkeypatch.setattr(base.StoreHelpers, "read_json", lambda self, key: reads.update([key]) or read_json(self, key))
    monkeypatch.setattr(local, "sha256_file", lambda path: hashed.update([str(path)]) or sha256_file(path))
    result = render_alone(rendered, "final_cut", "timeline_export")
    assert result.success
    made = [event.materialization for event in result.get_asset_materialization_events()]
    assert [m.metadata["reused"].value for m in made] == [False, False]
    clip_manifests = [count for key, count in reads.items() if key.startswith("mini/upscaled_clip/")]
    assert len(clip_manifests) == 3 and set(clip_manifests) == {1}, reads
    clips = [count for path, count in hashed.items() if "/upscaled_clip/" in path and path.endswith(".mp4")]
    assert len(clips) == 3 and set(clips) == {1}, hashed
    for manifest in (store / "timeline_export" / "_").glob("*.json"):
        manifest.unlink()
    assert render_alone(rendered, "timeline_export").success
    clips = [count for path, count in hashed.items() if "/upscaled_clip/" in path and path.endswith(".mp4")]
    assert set(clips) == {1}, "a new run finds the clips as they were checked: not read again"
    clip = next(path for path in hashed if "/upscaled_clip/" in path and path.endswith(".mp4"))
    before = os.stat(clip)
    damaged = bytearray(Path(clip).read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    Path(clip).write_bytes(damaged)  # changed in place, its mtime set back: the ctime still moves
    os.utime(clip, ns=(before.st_atime_ns, before.st_mtime_ns))
    for manifest in (store / "timeline_export" / "_").glob("*.json"):
        manifest.unlink()
    message = failure_of(render_alone(rendered, "timeline_export"))
    assert hashed[clip] == 2 and "is corrupt" in message and clip.split("/store/")[-1] in message, message
