"""Music families beyond MusicGen, switched in by a film's `models:` and rendered through `film render`'s
code path on the tiny profile: Stable Audio Open (`StableAudioPipeline`, a tiny replica of
stabilityai/stable-audio-open-1.0 with the real checkpoint's classes)."""

import numpy as np
import pytest

from film_pipeline.backends import CueRequest, backend_for, backend_id
from film_pipeline.backends.stable_audio import plan_pieces
from film_pipeline.media import SAMPLE_RATE, read_audio
from film_pipeline_tests.families import render_family

pytest.importorskip("torchsde", reason="Stable Audio's scheduler (CosineDPMSolverMultistepScheduler) needs torchsde")

STABLE_AUDIO = {"backend": "stable-audio", "model": "tiny:stable-audio", "steps": 2}


@pytest.fixture(scope="module")
def stable_audio():
    """The backend the film's override names: the same process-wide instance a render uses."""
    return backend_for("music", backend_id("music", "tiny", STABLE_AUDIO))


def test_stable_audio_scores_the_film(home):
    result, meta = render_family(home, {"music": STABLE_AUDIO})
    assert not result.failures, result.failures
    soundtrack = meta("soundtrack")
    assert (soundtrack["backend"], soundtrack["model"]) == ("stable-audio", "tiny:stable-audio")
    assert soundtrack["duration_seconds"] == 2.5  # shots of 1.0 s and 1.5 s, cut together
    audio = read_audio(soundtrack["path"])[:, 0]
    assert len(audio) == pytest.approx(2.5 * SAMPLE_RATE, abs=SAMPLE_RATE * 0.01)
    # shot b has no narration: what plays there is the score alone
    assert np.abs(audio[int(1.3 * SAMPLE_RATE):int(2.2 * SAMPLE_RATE)]).max() > 0.01


def test_a_cue_longer_than_the_model_is_generated_in_pieces(stable_audio, monkeypatch):
    longest = stable_audio.model_seconds
    assert longest == pytest.approx(64 * 2048 / 44100)  # the tiny DiT's 64 latent frames at a hop of 2048
    calls, pipe = [], stable_audio.pipe

    def spy(prompt, **kwargs):
        calls.append((kwargs["audio_end_in_s"], kwargs["generator"].initial_seed()))
        return pipe(prompt, **kwargs)

    monkeypatch.setattr(stable_audio, "pipe", spy)
    seconds, rate = 6.0, 16000
    out = stable_audio.score([CueRequest("theme", "calm theme", 0.0, seconds, 40)], seconds, rate)
    assert out.shape == (seconds * rate, 2) and np.array_equal(out[:, 0], out[:, 1]), "mono, placed as every cue is"
    assert [seed for _, seed in calls] == [40, 41, 42], "three pieces, each seeded from the cue's seed"
    assert all(length <= longest for length, _ in calls)
    assert sum(length for length, _ in calls) - 2 * stable_audio.crossfade == pytest.approx(seconds)
    slices = np.array_split(np.abs(out[:, 0]), 24)[1:-1]  # past the cue's fade in and out, joins included
    assert min(s.max() for s in slices) > 0.001
    # the real model: 47.55 s at most, so a two-minute cue is three pieces of 40.3 s
    assert plan_pieces(120.0, 47.55, 0.5) == [pytest.approx(40.333, abs=1e-3)] * 3
    assert plan_pieces(30.0, 47.55, 0.5) == [30.0]


def test_stable_audio_is_deterministic_per_seed(stable_audio):
    def cue(seed):
        return stable_audio.score([CueRequest("theme", "calm theme", 0.0, 1.0, seed)], 1.0, 16000)

    first = cue(3)
    assert np.abs(first).max() > 0.001
    assert np.array_equal(first, cue(3))
    assert not np.allclose(first, cue(4))
