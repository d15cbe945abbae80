"""voiceover: the shot's narration spoken to a WAV; a silent shot gets an empty WAV and loads no voice."""

import shutil

import numpy as np
import pytest

from film_pipeline.media import SAMPLE_RATE, read_wav
from film_pipeline.stages import voiceover
from film_pipeline_tests.conftest import MINI_FILM

ESPEAK = MINI_FILM.replace("shots:\n", "models:\n  speech: {backend: espeak-ng}\nshots:\n")


@pytest.fixture
def speaking(pipeline, backends):
    """The preview profile's voice (Piper with a packaged voice); skipped where it is not installed."""
    try:
        backends("speech", pipeline.spec("narration_spec", "a")["backend"])
    except (ImportError, FileNotFoundError) as missing:
        pytest.skip(f"the preview voice is not installed: {missing}")
    return pipeline


def test_a_shot_without_narration_is_an_empty_wav_and_loads_no_voice(pipeline, no_backends, workdir, log):
    spec = pipeline.spec("narration_spec", "b")
    assert spec["text"] == ""
    files, info = voiceover.render(spec, "b", no_backends, workdir, log)
    samples = read_wav(files["audio"])
    assert samples.shape == (0, 1)
    assert info["backend"] == "none" and info["duration_seconds"] == 0.0 and info["text"] == ""


def test_whitespace_narration_counts_as_none(pipeline, no_backends, workdir, log):
    spec = {**pipeline.spec("narration_spec", "b"), "text": "  \n "}
    files, _ = voiceover.render(spec, "b", no_backends, workdir, log)
    assert len(read_wav(files["audio"])) == 0


def test_narration_is_spoken_into_a_non_empty_wav(speaking):
    files, info = speaking.voiceover("a")
    samples = read_wav(files["audio"])[:, 0]
    assert info["text"] == "Hello there." and info["backend"] == "piper" and info["voice"] == "narrator"
    assert 0.3 < len(samples) / SAMPLE_RATE < 3 and np.abs(samples).max() > 0.05
    assert info["duration_seconds"] == pytest.approx(len(samples) / SAMPLE_RATE, abs=1e-3)


def test_the_same_narration_speaks_the_same_samples(speaking):
    first = read_wav(speaking.voiceover("c")[0]["audio"])
    again = read_wav(speaking.voiceover("c")[0]["audio"])
    assert np.array_equal(first, again)


def test_a_voice_backends_warning_is_logged_with_the_shot(pipeline_for, caplog, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # espeak-ng missing: silence and a warning
    files, info = pipeline_for(ESPEAK).voiceover("c")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith("voiceover[c]: espeak-ng is not installed")
    samples = read_wav(files["audio"])
    assert info["backend"] == "silence" and len(samples) > 0 and not samples.any()
    assert info["duration_seconds"] == pytest.approx(0.3 + 2 * 60 / 150, abs=1e-3)  # two words at 150 wpm
