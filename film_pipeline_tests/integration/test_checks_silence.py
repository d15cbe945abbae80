"""A film with nothing to be heard (no music, no narration) is a valid film: its silent soundtrack
passes the soundtrack check, and the first render delivers the cut. A film that has something to
say and a silent soundtrack still fails the check."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from film_pipeline import checks
from film_pipeline.backends import Speech, register
from film_pipeline.film import load_film
from film_pipeline.media import SAMPLE_RATE, write_wav
from film_pipeline.render import render_film
from film_pipeline_tests.conftest import write_film

SILENT_FILM = """\
title: Quiet
fps: 4
resolution: [32, 18]
shots:
  - id: a
    prompt: the sea at dawn
    duration: 0.5
  - id: b
    prompt: gulls over the harbour
    duration: 0.5
"""


REPO = Path(__file__).resolve().parents[2]


def film(*args, home: Path):
    # run from the film's home (paths as a user types them), importing this checkout's package
    env = {**os.environ, "FILM_HOME": str(home), "PYTHONWARNINGS": "ignore",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "film_pipeline.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=home, timeout=600)


def test_a_film_without_music_or_narration_renders_on_the_first_try(home):
    film_dir = write_film(home, SILENT_FILM, name="quiet")
    for attempt in ("first", "second"):
        result = film("render", film_dir, "--json", "--no-progress", home=home)
        assert result.returncode == 0, f"{attempt} render: {result.stderr}"
        doc = json.loads(result.stdout)
        assert doc["failed"] == [] and doc["warnings"] == [], doc
        assert doc["final_cut"] and Path(doc["final_cut"]).exists(), f"{attempt} render: {doc}"
    assert doc["materialized"] == []  # the second render had nothing to do

    manifest = next((home / "store" / "quiet" / "soundtrack").rglob("*.json"))
    info = json.loads(manifest.read_text())["info"]
    assert info["cues"] == 0 and info["voices"] == 0 and info["peak"] == 0.0


class MuteVoice:
    """A voice that says every line in silence (as a broken speech model might)."""
    name = "mute-voice"
    version = "1"

    def speak(self, text: str, voice: str | None, seed: int) -> Speech:
        return Speech(np.zeros(SAMPLE_RATE // 2, np.float32), SAMPLE_RATE, self.name)


def test_a_film_with_narration_and_a_silent_soundtrack_still_fails(home):
    register("speech", MuteVoice)
    film_dir = write_film(home, SILENT_FILM.replace("duration: 0.5\n", "duration: 0.5\n    narration: Listen.\n", 1)
                          + "models:\n  speech: {backend: mute-voice}\n", name="mute")
    result = render_film(film_dir)
    assert dict(result.failures).get("soundtrack check audio_healthy") == "the soundtrack is silent", result.failures
    assert result.final_cut is None


def test_silence_passes_only_when_nothing_is_to_be_heard(tmp_path):
    path = tmp_path / "silent.wav"
    write_wav(path, np.zeros(SAMPLE_RATE, np.float32))
    by_design = checks.audio_healthy(path, 0)
    assert by_design.passed and by_design.summary == "silent by design: no music or narration"
    for sources in (1, 3, None):  # something to be heard, or not known: silence fails
        found = checks.audio_healthy(path, sources)
        assert not found.passed and found.summary == "the soundtrack is silent"
    assert not checks.audio_healthy(path).passed


def test_what_a_soundtrack_has_to_be_heard(tmp_path):
    assert checks.sound_sources({"info": {"cues": 0, "voices": 0}}) == 0
    assert checks.sound_sources({"info": {"cues": 1, "voices": 2}}) == 3
    # a soundtrack recorded before manifests counted voices: the film says what it has to be heard
    (tmp_path / "film.yaml").write_text(SILENT_FILM)
    quiet = load_film(tmp_path)
    assert checks.sound_sources({"info": {"cues": 0}}) is None
    assert checks.sound_sources({"info": {"cues": 0}}, quiet) == 0
    (tmp_path / "film.yaml").write_text(SILENT_FILM.replace("duration: 0.5\n", "duration: 0.5\n    narration: Hi.\n", 1))
    assert checks.sound_sources({"info": {"cues": 0}}, load_film(tmp_path)) == 1
