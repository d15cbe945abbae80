"""Issue 18's deliverables on the mini film: subtitles beside the cut and in it, the mix mastered to a
loudness target (and checked by an independent meter), a web-ready MP4, and the film.yaml keys
that drive them (which leave the versions of films that do not use them alone)."""

import struct
from pathlib import Path

import pytest

from film_pipeline.checks import CHECKS, evaluate, loudness_on_target
from film_pipeline.cli import render_summary
from film_pipeline.film import FilmError, load_film
from film_pipeline.media import ebur128, run_ffmpeg
from film_pipeline.render import open_session, render_film
from film_pipeline.specs import film_spec
from film_pipeline.stages.subtitles import read_cues
from film_pipeline.store import open_store
from film_pipeline_tests.conftest import MINI_FILM, edit_film, write_film

FPS = 8
VOICE_LEAD_IN = 0.15  # where the mix lays a voice-over after its shot starts (edit.VOICE_LEAD_IN)


def current(film_dir: Path, asset: str) -> dict:
    session = open_session(film_dir)
    return open_store().read_json(session.graph.latest_manifest_key(session.instance, asset, None))


def streams(path: Path) -> str:
    return run_ffmpeg("-i", str(path), capture_output=True, text=True).stderr


def top_level_boxes(path: Path) -> list[str]:
    data, boxes, at = Path(path).read_bytes(), [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        size = struct.unpack(">Q", data[at + 8:at + 16])[0] if size == 1 else size or len(data) - at
        boxes.append(kind.decode("latin-1"))
        at += size
    return boxes


def avc_profile_and_level(path: Path) -> tuple[int, int]:
    data = Path(path).read_bytes()
    at = data.index(b"avcC") + 4
    return data[at + 1], data[at + 3]  # AVCProfileIndication, AVCLevelIndication


# H.264 Annex A: (level_idc, most macroblocks a frame, most macroblocks a second)
LEVELS = [(10, 99, 1485), (11, 396, 3000), (12, 396, 6000), (13, 396, 11880), (20, 396, 11880), (21, 792, 19800),
          (22, 1620, 20250), (30, 1620, 40500), (31, 3600, 108000), (32, 5120, 216000), (40, 8192, 245760),
          (41, 8192, 245760), (42, 8704, 522240), (50, 22080, 589824), (51, 36864, 983040)]


def least_level(width: int, height: int, fps: int) -> int:
    blocks = -(-width // 16) * -(-height // 16)
    return next(level for level, frame, second in LEVELS if blocks <= frame and blocks * fps <= second)


def test_subtitles_sit_beside_the_cut_one_cue_per_narrated_shot_timed_to_its_voice(rendered):
    result = render_film(rendered)
    summary = render_summary(result)
    cut = Path(summary["final_cut"])
    srt, vtt = Path(summary["subtitles"]["srt"]), Path(summary["subtitles"]["vtt"])
    assert srt.parent == vtt.parent == cut.parent and srt.name.startswith(cut.stem) and vtt.name.startswith(cut.stem)
    assert vtt.read_text().startswith("WEBVTT\n")
    store = open_store()
    narrated = {"a": 0, "c": 16}  # the narrated shots and where they start (frames): shot b says nothing
    cues = read_cues(srt)
    assert [text for _, _, text in cues] == ["Hello there.", "Good morning."]
    assert read_cues(vtt) == cues
    session = open_session(rendered)
    for (start, end, _), (shot, frame) in zip(cues, narrated.items()):
        voice = store.read_json(session.graph.latest_manifest_key(session.instance, "voiceover", shot))
        spoken = voice["info"]["duration_seconds"]
        assert start == pytest.approx(frame / FPS + VOICE_LEAD_IN, abs=0.002), shot
        assert end - start == pytest.approx(min(spoken, 3.0 - start), abs=0.002), shot
    # the soft track in the MP4: mov_text, English, the same cues
    header = streams(cut)
    assert "Subtitle: mov_text" in header and "(eng)" in header
    extracted = cut.parent.parent / "extracted.srt"  # outside the store
    run_ffmpeg("-v", "error", "-y", "-i", str(cut), "-map", "0:s:0", str(extracted), check=True)
    assert [(round(s, 2), round(e, 2), t) for s, e, t in read_cues(extracted)] == \
        [(round(s, 2), round(e, 2), t) for s, e, t in cues]


def test_the_mix_is_mastered_to_the_target_and_the_check_measures_it_independently(rendered):
    manifest = current(rendered, "final_cut")
    info = manifest["info"]
    cut = open_store().local_path(manifest["files"]["video"]["key"])
    measured = ebur128(cut)
    assert (info["loudness_target"], info["true_peak_target"]) == (-14.0, -1.0)  # the streaming default
    assert abs(measured.integrated - -14.0) <= 0.5, measured
    assert measured.true_peak <= -1.0, measured
    assert info["loudness_before"] != pytest.approx(-14.0, abs=0.3), "the soundtrack was not at the target already"
    check = next(spec for spec in CHECKS if (spec.asset, spec.name) == ("final_cut", "loudness"))
    session = open_session(rendered)
    finding = evaluate(open_store(), session.graph.latest_manifest_key(session.instance, "final_cut", None), check)
    assert finding.passed, finding.summary
    assert not loudness_on_target(cut, -23.0, -1.0).passed, "10 LU off the broadcast target must fail"
    assert not loudness_on_target(cut, -14.0, -3.0).passed, "a true peak over the ceiling must fail"


def test_the_cut_is_a_web_ready_master(rendered):
    manifest = current(rendered, "final_cut")
    cut = open_store().local_path(manifest["files"]["video"]["key"])
    boxes = top_level_boxes(cut)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart: the index first
    header = streams(cut)
    # BT.709 throughout: matrix, primaries and transfer (ffmpeg names the three once when they agree)
    assert "Video: h264 (High)" in header and "yuv420p(tv, bt709, progressive)" in header, header
    assert "Audio: aac (LC)" in header and "48000 Hz" in header, header
    profile, level = avc_profile_and_level(cut)
    width, height = manifest["info"]["width"], manifest["info"]["height"]
    assert profile == 100  # High
    assert least_level(width, height, FPS) <= level <= 41, level  # enough for the size, and any browser plays it


def test_language_delivery_and_subtitles_off_change_only_the_cut(rendered):
    edit_film(rendered, lambda d: (d.__setitem__("language", "fr"), d.__setitem__("delivery", "broadcast")))
    result = render_film(rendered)
    assert set(result.materialized) == {("script", None), ("final_cut", None), ("timeline_export", None)}
    assert "Subtitle: mov_text" in (header := streams(result.final_cut)) and "(fre)" in header
    measured = ebur128(result.final_cut)
    assert abs(measured.integrated - -23.0) <= 1.0 and measured.true_peak <= -1.0, measured
    edit_film(rendered, lambda d: d.__setitem__("subtitles", False))
    result = render_film(rendered)
    assert result.subtitles is None and render_summary(result)["subtitles"] is None
    assert "Subtitle:" not in streams(result.final_cut)
    assert not any(p.suffix in (".srt", ".vtt") for p in result.final_cut.parent.glob(f"{result.final_cut.stem}.*"))


def test_the_new_keys_stay_out_of_the_spec_at_their_defaults(tmp_path):
    film = load_film(write_film(tmp_path))
    spec = film_spec(film, "preview")
    assert not {"subtitles", "language", "delivery"} & set(spec), "films that do not use them keep their versions"
    written = load_film(write_film(tmp_path, MINI_FILM + "language: fr\nsubtitles: false\ndelivery: {loudness: -16}\n",
                                   name="set"))
    assert film_spec(written, "preview")["delivery"] == {"loudness": -16.0, "true_peak": -1.0}
    assert (written.language, written.subtitles) == ("fr", False)
    for text, said in (("delivry: broadcast\n", "did you mean `delivery`?"), ("delivery: loud\n", "streaming, broadcast"),
                       ("language: English\n", "ISO 639"), ("delivery: {true_peak: 2}\n", "outside -9..0")):
        with pytest.raises(FilmError, match=r"film\.yaml:\d+") as error:
            load_film(write_film(tmp_path, MINI_FILM + text, name="bad"))
        assert said in str(error.value)
