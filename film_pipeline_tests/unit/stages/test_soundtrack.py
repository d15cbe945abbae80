"""soundtrack: the score for the film's whole timeline, each shot's voice-over mixed in where it plays."""

import numpy as np
import pytest

from film_pipeline.edit import VOICE_LEAD_IN
from film_pipeline.media import SAMPLE_RATE, read_wav, write_wav
from film_pipeline.stages import script
from film_pipeline.timeline import total_frames
from film_pipeline_tests.conftest import MINI_FILM

SILENT_FILM = MINI_FILM.replace("    narration: Hello there.\n", "").replace("    narration: Good morning.\n", "")


@pytest.fixture
def silence(tmp_path):
    path = tmp_path / "silence.wav"
    write_wav(path, np.zeros(0, np.float32))
    return path


def tone(path, seconds, level=0.3, hz=440.0):
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    write_wav(path, (level * np.sin(2 * np.pi * hz * t)).astype(np.float32))
    return path


def seconds_at(pipeline, shot):
    return next(start for s, start, _ in pipeline.spec("score_spec")["timeline"] if s == shot) / pipeline.film.fps


def test_it_lasts_as_long_as_the_scripts_timeline(pipeline, silence):
    frames = total_frames(script.timeline(pipeline.spec("film_spec")))
    files, info = pipeline.soundtrack([silence] * 3)
    audio = read_wav(files["audio"])
    assert audio.shape[1] == 2
    assert abs(len(audio) - frames / pipeline.film.fps * SAMPLE_RATE) <= 1
    assert info["duration_seconds"] == frames / pipeline.film.fps == 3.0
    assert info["cues"] == 1 and 0.05 < info["peak"] <= 0.89 and np.abs(audio).max() > 0.05


def test_a_longer_shot_lengthens_the_soundtrack(pipeline_for, silence):
    longer = pipeline_for(MINI_FILM.replace("duration: 1.5", "duration: 3.0"))
    audio = read_wav(longer.soundtrack([silence] * 3)[0]["audio"])
    assert abs(len(audio) - 4.5 * SAMPLE_RATE) <= 1


def test_a_voice_is_mixed_in_where_its_shot_plays(pipeline, silence, tmp_path):
    score_only = read_wav(pipeline.soundtrack([silence] * 3)[0]["audio"])
    voice = tone(tmp_path / "c.wav", 0.5)
    mixed = read_wav(pipeline.soundtrack([silence, silence, voice])[0]["audio"])
    assert mixed.shape == score_only.shape
    change = np.abs(mixed - score_only).max(axis=1)
    c = seconds_at(pipeline, "c")
    assert c == 2.0
    assert change[: int(c * SAMPLE_RATE)].max() < 1e-3, "nothing changes before shot c"
    first = int((c + VOICE_LEAD_IN) * SAMPLE_RATE)  # where edit.mix lays the voice
    inner = slice(int(0.05 * SAMPLE_RATE), int(0.45 * SAMPLE_RATE))
    heard = mixed[first + inner.start:first + inner.stop, 0] - score_only[first + inner.start:first + inner.stop, 0]
    expected = read_wav(voice)[inner, 0]
    assert np.corrcoef(heard, expected)[0, 1] > 0.8, "the tone is what was added"


def test_the_score_is_ducked_under_the_voice(pipeline, silence, tmp_path):
    score_only = read_wav(pipeline.soundtrack([silence] * 3)[0]["audio"])
    quiet_voice = tone(tmp_path / "a.wav", 0.6, level=0.02, hz=9000.0)  # above the score's notes
    mixed = read_wav(pipeline.soundtrack([quiet_voice, silence, silence])[0]["audio"])
    under = slice(int(0.3 * SAMPLE_RATE), int(0.6 * SAMPLE_RATE))
    ratio = np.abs(mixed[under]).mean() / np.abs(score_only[under]).mean()
    assert 0.3 < ratio < 0.6  # the score at about DUCK_GAIN under the (quiet) voice


def test_a_voice_longer_than_its_shot_is_warned_about(pipeline, silence, tmp_path, caplog):
    pipeline.soundtrack([silence, silence, tone(tmp_path / "long.wav", 2.0)])
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["narration of shot `c` runs 2.0s, past the end of its shot; shorten it or lengthen the shot"]


def test_without_narration_it_mixes_the_voiceover_stages_empty_wavs(pipeline_for, silence):
    quiet = pipeline_for(SILENT_FILM)
    files, _ = quiet.soundtrack()  # voices from the voiceover stage
    assert all(quiet.made[("voiceover", s)][1]["backend"] == "none" for s in "abc")
    reference = pipeline_for(SILENT_FILM, "reference").soundtrack([silence] * 3)[0]
    assert np.array_equal(read_wav(files["audio"]), read_wav(reference["audio"]))


def test_a_new_voice_is_mixed_over_the_kept_score_and_the_music_model_is_not_loaded(pipeline, silence, tmp_path):
    from film_pipeline.stages import soundtrack
    from film_pipeline.store import sha256_file

    spec, cache, loads = pipeline.spec("score_spec"), tmp_path / "scores", []

    def backends(stage, ident):
        loads.append(stage)
        return pipeline.backends(stage, ident)

    def mix(name, voices, kept_in=cache):
        workdir = tmp_path / name
        workdir.mkdir()
        return soundtrack.render(spec, voices, backends, workdir, pipeline.log, cache=kept_in)

    first_files, first = mix("first", [silence] * 3)
    assert loads == ["music"] and first["score"] == "composed" and len(list(cache.glob("score-*.npy"))) == 1
    voice = tone(tmp_path / "c.wav", 0.5)
    files, info = mix("new-voice", [silence, silence, voice])
    assert loads == ["music"] and info["score"] == "kept from an earlier mix", "the score was composed again"
    plain_files, _ = mix("uncached", [silence, silence, voice], kept_in=None)
    assert [sha256_file(files[role]) for role in ("audio", "score")] == \
        [sha256_file(plain_files[role]) for role in ("audio", "score")], "the kept score mixes to the same bytes"
    longer = {**spec, "timeline": [[shot, start, frames + 1 if shot == "c" else frames]
                                   for shot, start, frames in spec["timeline"]]}
    loads.clear()
    soundtrack.render(longer, [silence] * 3, backends, tmp_path, pipeline.log, cache=cache)
    assert loads == ["music"], "a new timing composes the score again"


def test_only_the_scores_used_last_are_kept(pipeline, silence, tmp_path, monkeypatch):
    from film_pipeline.stages import soundtrack

    monkeypatch.setattr(soundtrack, "SCORES_KEPT", 2)
    spec, cache, composed = pipeline.spec("score_spec"), tmp_path / "scores", []

    def mix(extra_frames: int) -> None:
        timed = {**spec, "timeline": [[shot, start, frames + (extra_frames if shot == "c" else 0)]
                                      for shot, start, frames in spec["timeline"]]}
        _, info = soundtrack.render(timed, [silence] * 3, pipeline.backends, tmp_path, pipeline.log, cache=cache)
        composed.append(info["score"] == "composed")

    for extra in (0, 1, 0, 2):  # three timings; the third mix uses the first score again
        mix(extra)
    assert composed == [True, True, False, True] and len(list(cache.glob("score-*.npy"))) == 2
    mix(0)  # used last but one: kept
    mix(1)  # the oldest used: gone
    assert composed[4:] == [False, True] and len(list(cache.glob("score-*.npy"))) == 2
