"""`film export`: the cut as OpenTimelineIO, CMX 3600 EDL, FCP 7 XML and Kdenlive, each read back with
OpenTimelineIO at the cut's exact length; the Kdenlive project rendered by `melt` (the engine
Kdenlive uses) to the cut's frames; and the cut itself played in headless Chromium.

The mini film at 24 fps (EDL and FCP 7 XML time everything in SMPTE timecode, which has no 8 fps)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest

from film_pipeline.cli import main
from film_pipeline.media import SAMPLE_RATE, read_video
from film_pipeline.render import render_film
from film_pipeline.timeline import layout, total_frames
from film_pipeline_tests.conftest import FILM, MINI_FILM, write_film

FPS = 24
SHOTS = ("a", "b", "c")
PLACEMENTS = layout([("a", 1.0, "crossfade"), ("b", 1.5, "cut"), ("c", 1.0, "fade")], FPS)
FRAMES = total_frames(PLACEMENTS)  # 24 + 36 + 24 less the 12-frame crossfade
ADAPTERS = {"otio": ("otio_json", {}), "edl": ("cmx_3600", {"rate": FPS}), "fcp7": ("fcp_xml", {}),
            "kdenlive": ("kdenlive", {})}
MELT, CHROMIUM = shutil.which("melt"), "/usr/bin/chromium"


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    """A FILM_HOME with the mini film at 24 fps rendered, and its four exports from `film export`."""
    home = tmp_path_factory.mktemp("export")
    film_dir = write_film(home, MINI_FILM.replace("fps: 8", f"fps: {FPS}"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FILM_HOME", str(home))
        result = render_film(film_dir)
        assert not result.failures, result.failures
        written = {}
        for fmt in ADAPTERS:  # in this process: the command's handler, without a new process per format
            out = home / "out" / f"mini.{fmt}"
            assert main(["export", str(film_dir), "--to", fmt, "--out", str(out), "--no-progress"]) == 0
            written[fmt] = out
        yield {"home": home, "dir": film_dir, "cut": result.final_cut, "exports": written}


def read_back(film, fmt) -> otio.schema.Timeline:
    adapter, options = ADAPTERS[fmt]
    return otio.adapters.read_from_file(str(film["exports"][fmt]), adapter_name=adapter, **options)


def media_path(clip) -> Path:
    from film_pipeline.exports import url_path

    return url_path(clip.media_reference.target_url)


@pytest.mark.parametrize("fmt", list(ADAPTERS))
def test_each_export_reads_back_at_the_cuts_exact_length(film, fmt):
    timeline = read_back(film, fmt)
    assert timeline.duration().to_frames(FPS) == FRAMES == 72
    picture = next(t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video and len(t.find_clips()) >= 3)
    assert picture.duration().to_frames(FPS) == FRAMES
    shots = [c for c in picture.find_clips() if isinstance(c.media_reference, otio.schema.ExternalReference)]
    names = [c.name for c in shots] if fmt != "kdenlive" else [media_path(c).parent.name for c in shots]
    assert names == list(SHOTS)
    for clip in shots:  # each shot refers to its stored upscaled clip, by absolute path
        path = media_path(clip)
        assert path.is_absolute() and path.is_file() and path.parent.parent.name == "upscaled_clip", path


def test_the_otio_timeline_has_transitions_voice_overs_score_and_markers(film):
    timeline = read_back(film, "otio")
    picture, title, voice, score = (next(t for t in timeline.tracks if t.name == n)
                                    for n in ("Picture", "Title", "Voice-over", "Score"))
    transitions = [(t.name, t.in_offset.to_frames(), t.out_offset.to_frames())
                   for t in picture if isinstance(t, otio.schema.Transition)]
    assert transitions == [("crossfade", 6, 6), ("fade to black", 12, 0)]  # 0.5 s each, as the cut has them
    for clip, placement in zip(picture.find_clips(), PLACEMENTS):
        (marker,) = clip.markers
        meta = marker.metadata["film_pipeline"]
        assert meta["shot"] == placement.shot_id and meta["prompt"] in MINI_FILM and len(meta["version"]) == 20
        assert media_path(clip).stem == meta["version"]  # the version is the upscaled clip's, its store key
    # each voice-over where the mix lays it: VOICE_LEAD_IN (0.15 s) after its shot starts, to the sample
    starts = [voice.range_of_child(c).start_time for c in voice.find_clips()]
    assert [round(s.to_seconds(), 4) for s in starts] == [0.15, round(48 / FPS + 0.15, 4)]
    assert starts[0].rate == SAMPLE_RATE
    assert [media_path(c).parent.name for c in voice.find_clips()] == ["a", "c"]
    (music,) = score.find_clips()
    assert music.duration().to_frames(FPS) == FRAMES and media_path(music).name.endswith(".score.wav")
    assert title.duration().to_frames(FPS) == FPS  # over the opening shot, as long as the cut's title


def test_edl_events_match_the_shots(film):
    text = film["exports"]["edl"].read_text()
    events = [line.split() for line in text.splitlines() if line[:3].isdigit()]
    # a cut, a dissolve a -> b (12 frames), c cut in, then c dissolving to black (BL) over 12 frames
    assert [e[0] for e in events] == ["001", "002", "002", "003", "004", "004"]
    assert [e[3] for e in events] == ["C", "C", "D", "C", "C", "D"] and events[2][4] == events[5][4] == "012"
    assert events[5][1] == "BL"
    records = [(e[-2], e[-1]) for e in events]
    assert records[0] == ("00:00:00:00", "00:00:00:12") and records[2] == ("00:00:00:12", "00:00:02:00")
    assert records[3] == ("00:00:02:00", "00:00:02:12") and records[5] == ("00:00:02:12", "00:00:03:00")
    for shot in SHOTS:
        assert f"* FROM CLIP NAME:  {shot}" in text or f"* TO CLIP NAME:  {shot}" in text
        assert f"{shot.upper()}: " in text  # its marker: "* LOC: ... SHOT: PROMPT [VERSION]"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)


@pytest.mark.skipif(MELT is None and not os.environ.get("CI"), reason="melt is not installed (.ci/run installs it)")
def test_melt_renders_the_kdenlive_export_to_the_cut(film, tmp_path):
    assert MELT, "melt must be installed in CI (.ci/run installs Debian's melt)"
    rendered = tmp_path / "melt.mkv"
    run = subprocess.run([MELT, "-quiet", str(film["exports"]["kdenlive"]), "-consumer", f"avformat:{rendered}",
                          "vcodec=ffv1", "acodec=pcm_s16le"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and rendered.exists(), run.stderr[-2000:]
    ours, theirs = list(read_video(film["cut"])), list(read_video(rendered))
    assert len(theirs) == len(ours) == FRAMES
    for placement in PLACEMENTS:
        middle = placement.start + placement.frames // 2
        assert psnr(ours[middle], theirs[middle]) >= 35, (placement.shot_id, middle, psnr(ours[middle], theirs[middle]))


@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="chromium is not installed")
def test_the_cut_plays_in_a_browser(film, tmp_path):
    from playwright.sync_api import sync_playwright

    shutil.copyfile(film["cut"], tmp_path / "cut.mp4")
    (tmp_path / "page.html").write_text('<video id="cut" muted playsinline preload="auto" src="cut.mp4"></video>')
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--autoplay-policy=no-user-gesture-required"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
        try:
            page = browser.new_page()
            page.goto((tmp_path / "page.html").as_uri())
            page.wait_for_function("() => document.querySelector('#cut').readyState >= 1", timeout=60_000)
            assert page.evaluate("() => document.querySelector('#cut').duration") == pytest.approx(FRAMES / FPS, abs=0.05)
            page.evaluate("""() => { const v = document.querySelector('#cut'); v.shown = [];
                const seen = (now, frame) => { v.shown.push(frame.mediaTime); v.requestVideoFrameCallback(seen); };
                v.requestVideoFrameCallback(seen); return v.play(); }""")
            page.wait_for_function("() => document.querySelector('#cut').ended", timeout=60_000)
            shown, error = page.evaluate("() => [document.querySelector('#cut').shown, document.querySelector('#cut').error]")
        finally:
            browser.close()
    assert error is None
    assert len(shown) >= FRAMES // 3 and shown == sorted(shown) and shown[-1] >= 2.5, shown  # frames advance to the end


def test_film_export_json(film, tmp_path):
    out = tmp_path / "cut.otio"
    run = subprocess.run([FILM, "export", str(film["dir"]), "--to", "otio", "--out", str(out), "--json", "--no-progress"],
                         env={**os.environ, "FILM_HOME": str(film["home"])}, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"path": str(out), "format": "otio"}
    assert otio.adapters.read_from_file(str(out)).duration().to_frames(FPS) == FRAMES
    eight = write_film(film["home"], MINI_FILM, name="eight")  # 8 fps: no SMPTE timecode, so no EDL
    run = subprocess.run([FILM, "export", str(eight), "--to", "edl"], env={**os.environ, "FILM_HOME": str(film["home"])},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "timecode" in run.stderr, run.stderr


def test_an_export_from_an_s3_store_points_at_local_copies_of_the_stored_clips(s3_server, tmp_path, monkeypatch):
    """The clips live in the bucket; the exported timeline names files on this machine (fetched
    into FILM_HOME's cache), each with the bytes its manifest in the bucket records."""
    import uuid

    from film_pipeline.store import open_store, sha256_file

    home = tmp_path / "home"
    film_dir = write_film(home)
    env = {**s3_server.env(), "FILM_HOME": str(home), "FILM_STORE": f"s3://{s3_server.bucket}/{uuid.uuid4().hex[:10]}"}
    out = tmp_path / "mini.otio"
    run = subprocess.run([FILM, "export", str(film_dir), "--to", "otio", "--out", str(out), "--json", "--no-progress"],
                         capture_output=True, text=True, env={**os.environ, **env}, timeout=600)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"path": str(out), "format": "otio"}
    assert not (home / "store").exists(), "nothing went to a local store"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    store, cache = open_store(), home / "cache" / s3_server.bucket / env["FILM_STORE"].rsplit("/", 1)[1]
    clips = list(otio.adapters.read_from_file(str(out)).video_tracks()[0].find_clips())
    assert sorted(media_path(clip).parent.name for clip in clips) == sorted(SHOTS)
    for clip in clips:
        path = media_path(clip)
        assert path.is_file() and path.is_relative_to(cache), path
        key = str(path.relative_to(cache))
        recorded = store.read_json(key.rsplit(".", 1)[0] + ".json")["files"]["video"]
        assert recorded["key"] == key and sha256_file(path) == recorded["sha256"]
