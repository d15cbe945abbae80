"""The preview profile's renderers: deterministic pictures, smooth exact-length motion, real music, speech."""

import shutil
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from film_pipeline.backends import CharacterLook, CueRequest, KeyframeRequest, MotionRequest, get_backend
from film_pipeline.backends.keyframe import read_scene
from film_pipeline.backends.voice import EspeakVoice
from film_pipeline.edit import mix
from film_pipeline.timeline import Placement


def paint(prompt, seed=1, characters=()):
    request = KeyframeRequest(prompt, "painterly", characters, seed, (160, 90))
    return np.asarray(get_backend("keyframe", "preview").paint(request))


def test_keyframes_are_deterministic_and_differ_by_prompt_and_seed():
    night = paint("a city street at night")
    assert np.array_equal(night, paint("a city street at night"))
    assert np.abs(night.astype(int) - paint("a city street at night", seed=2)).mean() > 1
    sunset = paint("a beach at sunset")
    assert np.abs(night.astype(int) - sunset).mean() > 20, "different prompts look clearly different"
    assert night.mean() < sunset.mean(), "night is darker than a sunset"


def test_characters_appear_in_the_colour_their_description_names():
    empty = paint("a meadow", characters=())
    red = paint("a meadow", characters=(CharacterLook("ana", "a girl in a red coat", 5),))
    changed = np.abs(red.astype(int) - empty).sum(axis=2) > 60
    assert changed.mean() > 0.01
    r, g, b = red[changed].mean(axis=0)
    assert r > g + 30 and r > b + 30


def animate(camera, frames=24, keyframe=None, motion=None):
    if keyframe is None:
        ramp = np.tile(np.linspace(0, 255, 200, dtype=np.float32), (112, 1))
        keyframe = Image.fromarray(np.stack([ramp] * 3, axis=2).astype(np.uint8))
    request = MotionRequest(camera, motion, frames, 24, (128, 72), "", 1)
    return [f.astype(float) for f in get_backend("motion", "preview").animate(keyframe, request)]


def test_clip_has_exactly_the_requested_frames_and_size():
    frames = animate("static", frames=37)
    assert len(frames) == 37 and frames[0].shape == (72, 128, 3)


def test_a_pan_moves_smoothly_one_way_without_jitter():
    # Over a left-to-right brightness ramp, panning right brightens every frame a little more.
    brightness = [f[:50].mean() for f in animate("pan_right", frames=48)]
    steps = np.diff(brightness)
    assert (steps > 0).all(), "no frame moves backwards"
    assert steps[len(steps) // 2] > steps[0] and steps[len(steps) // 2] > steps[-1], "eased in and out"
    assert np.abs(np.diff(steps)).max() < steps.max() * 0.5, "no jumps between frames"


def test_push_in_zooms_toward_the_centre():
    first, last = animate("push_in")[0], animate("push_in")[-1]
    edge = lambda f: np.abs(np.diff(f[:50, :, 0], axis=1)).mean()
    assert edge(last) < edge(first), "zooming in spreads the ramp over more pixels"


def test_rain_in_the_motion_prompt_animates_a_still_picture():
    still = Image.new("RGB", (200, 112), (40, 40, 60))
    frames = animate("static", keyframe=still, motion="heavy rain")
    assert np.abs(frames[5] - frames[6]).mean() > 0.05


def test_score_plays_real_notes_of_a_chord():
    rate = 48_000
    music = get_backend("music", "preview").score([CueRequest("m", "gentle calm theme", 0, 4, 7)], 4, rate)
    assert music.shape == (4 * rate, 2) and np.abs(music).max() > 0.05
    spectrum = np.abs(np.fft.rfft(music[:, 0] * np.hanning(len(music))))
    freqs = np.fft.rfftfreq(len(music), 1 / rate)
    peaks = freqs[np.argsort(spectrum)[-8:]]
    semitones = 12 * np.log2(peaks / 440)
    assert np.abs(semitones - np.round(semitones)).max() < 0.15, f"peaks {peaks} are not on the equal-tempered scale"


def test_score_mood_changes_the_music():
    score = get_backend("music", "preview").score
    calm = score([CueRequest("m", "slow calm", 0, 3, 1)], 3, 16_000)
    tense = score([CueRequest("m", "fast tense dark chase", 0, 3, 1)], 3, 16_000)
    assert not np.allclose(calm, tense)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (.ci/run installs it)")
def test_espeak_speaks_for_about_as_long_as_the_words_take():
    speech = EspeakVoice().speak("The lighthouse keeper lit the lamp at dusk.", None, 1)
    seconds = len(speech.samples) / speech.rate
    assert speech.backend == "espeak-ng" and speech.warning is None
    assert 1.5 < seconds < 6 and np.abs(speech.samples).max() > 0.1


def test_without_espeak_the_narration_is_silent_with_a_warning(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    speech = EspeakVoice().speak("Five words are spoken here.", None, 1)
    assert speech.backend == "silence" and "apt-get install espeak-ng" in speech.warning
    assert not speech.samples.any() and 1.5 < len(speech.samples) / speech.rate < 3
    assert EspeakVoice.variant() == "missing", "a silent render gets its own version"


def test_mix_ducks_the_score_under_the_voice_and_never_clips():
    rate, fps = 8000, 8
    music = np.full((rate * 4, 2), 0.5, np.float32)
    voice = np.full(rate, 0.9, np.float32)
    mixed, warnings = mix(music, [(Placement("a", 8, 16, 0, 0, 0), voice)], fps, rate)
    assert np.abs(mixed).max() <= 0.891
    assert mixed[int(1.6 * rate), 0] > mixed[int(0.2 * rate), 0]  # voice on top
    assert warnings == []
    _, late = mix(music, [(Placement("a", 0, 4, 0, 0, 0), voice)], fps, rate)
    assert "runs 1.0s, past the end of its shot" in late[0]


def test_water_reflects_the_sky_without_rippling_the_sky_itself():
    # the same scene painted with and without its water (a different prompt would move the layout)
    painter = get_backend("keyframe", "preview")
    request = KeyframeRequest("a sunset over the sea", "painterly", (), 4, (160, 90))
    scene = read_scene(request)
    assert scene.has("water")
    with_sea = np.asarray(painter.compose(request, scene))
    without = np.asarray(painter.compose(request, replace(scene, elements=scene.elements - {"water"})))
    sky = slice(0, int(90 * 0.45))  # above any horizon the painter chooses
    changed = np.abs(with_sea[sky].astype(int) - without[sky]).max(axis=2) > 40
    assert changed.sum() == 0, "only film grain (a few levels) may differ in the sky"
