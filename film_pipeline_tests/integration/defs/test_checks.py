"""Asset checks: they pass on a good render, and fail, naming the problem, on a bad artifact."""

import json
import subprocess

import dagster as dg
import numpy as np
import pytest

from film_pipeline import checks
from film_pipeline.home import get_instance
from film_pipeline.media import write_master, write_video, write_wav
from film_pipeline.render import QUIET, open_session
from film_pipeline.store import LocalStore, open_store
from film_pipeline.store.base import sha256_file


def run_checks(film_dir, shot: str | None):
    session = open_session(film_dir)
    job = session.graph.check_shot_job if shot else session.graph.check_film_job
    result = session.defs.resolve_job_def(job).execute_in_process(
        instance=get_instance(), tags={"dagster/partition": shot} if shot else None, run_config=QUIET,
        raise_on_error=False)  # a checks-only job takes its partition as a tag (it selects no asset)
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def test_checks_pass_on_a_good_render(rendered):
    for shot in ("a", "b", "c"):
        found = run_checks(rendered, shot)
        assert set(found) == {("clip", "exact_frames"), ("clip", "picture_alive"), ("upscaled_clip", "exact_frames")}
        assert all(e.passed for e in found.values()), {k: e.metadata["summary"] for k, e in found.items()}
    assert found[("clip", "exact_frames")].metadata["frames"].value == 8  # shot c: 1 s at 8 fps
    film = run_checks(rendered, None)
    assert set(film) == {("soundtrack", "audio_healthy"), ("final_cut", "duration_matches_script"), ("final_cut", "decodes"),
                         ("final_cut", "loudness")}
    assert all(e.passed for e in film.values()), {k: e.metadata["summary"] for k, e in film.items()}


def test_the_render_itself_records_check_results(rendered):
    instance = get_instance()
    session = open_session(rendered)
    key = dg.AssetCheckKey(session.graph.key("final_cut"), "decodes")
    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
    assert records and records[0].status.value == "SUCCEEDED"


def test_a_corrupted_clip_fails_its_check_naming_the_file(rendered):
    store = open_store()
    manifest = next(store.root.glob("mini/clip/a/*.json"))
    video = json.loads(manifest.read_text())["files"]["video"]
    (store.root / video["key"]).write_bytes(b"not a video any more")
    found = run_checks(rendered, "a")
    exact = found[("clip", "exact_frames")]
    assert not exact.passed and exact.severity == dg.AssetCheckSeverity.ERROR
    assert "corrupt" in exact.metadata["summary"].value and video["key"] in exact.metadata["summary"].value
    assert all(e.passed for e in run_checks(rendered, "b").values())  # other shots unaffected


def frames(kind: str, count: int = 10):
    for i in range(count):
        if kind == "black":
            yield np.zeros((36, 64, 3), np.uint8)
        elif kind == "frozen":
            yield np.full((36, 64, 3), 120, np.uint8)
        else:
            frame = np.full((36, 64, 3), 60, np.uint8)
            frame[:, i * 6:i * 6 + 6] = 250
            yield frame


@pytest.mark.parametrize("kind, passed, says", [("moving", True, "moves"), ("black", False, "black"),
                                                ("frozen", False, "frozen")])
def test_picture_alive_tells_black_and_frozen_from_moving(tmp_path, kind, passed, says):
    path = tmp_path / f"{kind}.mp4"
    write_video(path, frames(kind), 8, (64, 36))
    finding = checks.picture_alive(path)
    assert finding.passed is passed and says in finding.summary


def test_a_clips_two_checks_decode_it_once(tmp_path, monkeypatch):
    path = tmp_path / "clip.mp4"
    write_video(path, frames("moving"), 8, (64, 36))
    decoded, read_video = [], checks.read_video
    monkeypatch.setattr(checks, "read_video", lambda p: decoded.append(p) or read_video(p))
    assert checks.exact_frames(path, 10).passed and checks.picture_alive(path).passed
    assert len(decoded) == 1, "exact_frames and picture_alive read one decode of the clip"
    write_video(path, frames("frozen"), 8, (64, 36))  # another clip at the same path
    assert not checks.picture_alive(path).passed and len(decoded) == 2


def test_exact_frames_and_duration_count_decoded_frames(home, tmp_path):
    path = tmp_path / "short.mp4"
    write_video(path, frames("moving", 7), 8, (64, 36))
    assert checks.exact_frames(path, 7).passed
    short = checks.exact_frames(path, 8)
    assert not short.passed and short.summary == "7 frames where the script asks for 8"
    assert not checks.duration_matches(path, 16, 8).passed
    assert checks.decodes(path).passed
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    assert not checks.decodes(broken).passed


def test_the_upscaled_clips_frames_are_its_video_packets_counted_without_decoding(tmp_path, monkeypatch):
    from film_pipeline import media

    path = tmp_path / "upscaled.mp4"
    write_master(path, frames("moving", 9), 8, (64, 36))
    assert media.video_packets(path) == 9 == checks.count_frames(path)
    spec = next(c for c in checks.CHECKS if (c.asset, c.name) == ("upscaled_clip", "exact_frames"))
    store = LocalStore(tmp_path / "store")
    key = "f/upscaled_clip/a/v1.mp4"
    (tmp_path / "store" / "f/upscaled_clip/a").mkdir(parents=True)
    (tmp_path / "store" / key).write_bytes(path.read_bytes())
    manifest = {"files": {"video": {"key": key, "sha256": sha256_file(path)}}, "info": {"expected_frames": 10}}
    monkeypatch.setattr(checks, "read_video", lambda *a: pytest.fail("the upscaled clip was decoded"))
    short = spec.measure(store, manifest)
    assert not short.passed and short.summary == "9 frames where the script asks for 10"
    assert spec.measure(store, {**manifest, "info": {"expected_frames": 9}}).passed
    with pytest.raises(subprocess.CalledProcessError):
        media.video_packets(tmp_path / "store" / "f")  # not a video: ffmpeg's error, which `evaluate` reports


def test_the_cuts_three_checks_share_one_pass_over_it(home, tmp_path, monkeypatch):
    path = tmp_path / "cut.mp4"
    write_video(path, frames("moving", 12), 8, (64, 36))
    passes, read_film = [], checks.read_film
    monkeypatch.setattr(checks, "read_film", lambda p: passes.append(p) or read_film(p))
    assert checks.decodes(path).passed and checks.duration_matches(path, 12, 8).passed
    assert checks.film_pass(path).audio_digest is None and len(passes) == 1  # no sound: no digest
    checks.read_ahead(path)  # the same file, already read: nothing more
    assert len(passes) == 1
    write_video(path, frames("moving", 11), 8, (64, 36))  # a new cut at the same path
    checks.read_ahead(path)
    finding = checks.duration_matches(path, 12, 8)
    assert not finding.passed and finding.metadata["frames"] == 11 and len(passes) == 2


def test_a_render_checks_the_cut_after_the_timeline_export_from_the_pass_it_read_ahead(rendered, monkeypatch):
    from film_pipeline.render import render_film
    from film_pipeline_tests.conftest import edit_film, shot

    passes, read_film = [], checks.read_film
    monkeypatch.setattr(checks, "read_film", lambda p: passes.append(p) or read_film(p))
    edit_film(rendered, lambda doc: shot(doc, "b").__setitem__("prompt", "a green door in a white wall"))
    result = render_film(rendered)
    assert ("final_cut", None) in result.materialized and not result.failures
    [cut] = passes  # read once, for all three checks: ahead, as soon as the cut was stored
    assert cut == result.final_cut
    instance = get_instance()
    film_run = instance.get_run_by_id(result.run_ids[-1])
    started = [e.step_key for e in instance.all_logs(film_run.run_id, of_type=dg.DagsterEventType.STEP_START)]
    assert started.index("mini__timeline_export") < min(i for i, key in enumerate(started) if "final_cut_" in key), \
        started


def test_audio_check_fails_on_silence_and_clipping(tmp_path):
    t = np.arange(48_000) / 48_000
    cases = {"ok": 0.5 * np.sin(2 * np.pi * 220 * t), "silent": np.zeros_like(t),
             "clipped": np.clip(3 * np.sin(2 * np.pi * 220 * t), -1, 1)}
    results = {}
    for name, samples in cases.items():
        write_wav(tmp_path / f"{name}.wav", samples.astype(np.float32))
        results[name] = checks.audio_healthy(tmp_path / f"{name}.wav")
    assert results["ok"].passed
    assert not results["silent"].passed and "silent" in results["silent"].summary
    assert not results["clipped"].passed and "clipped" in results["clipped"].summary


def test_a_clip_short_of_frames_fails_its_blocking_check_and_never_reaches_the_cut(rendered):
    from film_pipeline.backends import register
    from film_pipeline.backends.camera import CameraMove
    from film_pipeline.render import render_film
    from film_pipeline_tests.conftest import edit_film

    class DroppingCamera(CameraMove):  # a motion model that loses the last frame
        name = "dropping-camera"

        def animate(self, keyframe, request):
            return iter(list(super().animate(keyframe, request))[:-1])

    register("motion", DroppingCamera)
    edit_film(rendered, lambda doc: doc.__setitem__("models", {"motion": {"backend": "dropping-camera"}}))
    result = render_film(rendered)
    failed = dict(result.failures)
    assert failed["clip[b] check exact_frames"] == "11 frames where the script asks for 12"
    assert {a for a, _ in result.materialized} == {"script", "clip"}  # no upscale, soundtrack or cut from bad clips
    assert result.final_cut is None


def test_out_of_memory_retries_once_with_the_memory_savers_on(rendered):
    import torch

    from film_pipeline.backends import register
    from film_pipeline.backends.keyframe import ProceduralKeyframe
    from film_pipeline.render import render_film
    from film_pipeline_tests.conftest import edit_film

    attempts = []

    class SmallGpuKeyframe(ProceduralKeyframe):  # fits only with attention slicing, like a big model on a small GPU
        name = "small-gpu-keyframe"

        def __init__(self, attention_slicing: bool = False, cpu_offload: bool = False):
            self.attention_slicing = attention_slicing

        def paint(self, request):
            attempts.append(self.attention_slicing)
            if not self.attention_slicing:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return super().paint(request)

    register("keyframe", SmallGpuKeyframe)
    edit_film(rendered, lambda doc: doc.__setitem__("models", {"keyframe": {"backend": "small-gpu-keyframe"}}))
    result = render_film(rendered)
    assert not result.failures, result.failures
    assert ("storyboard", "a") in result.materialized and result.final_cut is not None
    # each step that paints (the cast, three storyboards) fails once, then retries with the savers on
    assert attempts.count(False) == 4 and all(after for before, after in zip(attempts, attempts[1:]) if not before)
