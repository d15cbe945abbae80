"""The preview profile's narrator: espeak-ng where it is installed, a loud warning and silence where not.

Silence keeps the film's timing honest (it lasts about as long as the words would take to say),
so a machine without espeak-ng still renders a complete film.
"""

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from film_pipeline.backends import Speech
from film_pipeline.media import SAMPLE_RATE, read_audio

VOICES = {None: "en-us", "narrator": "en-us", "female": "en-us+f3", "male": "en-us+m3",
          "child": "en-us+f5", "old": "en-us+m7", "british": "en-gb"}
INSTALL_HINT = "install it (Debian/Ubuntu: `apt-get install espeak-ng`; macOS: `brew install espeak-ng`)"


class VoiceError(RuntimeError):
    """espeak-ng refused the voice or the text."""


class EspeakVoice:
    name = "espeak-ng"
    version = "1"

    @staticmethod
    def variant() -> str:
        return "espeak-ng" if shutil.which("espeak-ng") else "missing"

    def __init__(self, words_per_minute: int = 150):
        self.words_per_minute = words_per_minute

    def speak(self, text: str, voice: str | None, seed: int) -> Speech:
        binary = shutil.which("espeak-ng")
        if binary is None:
            seconds = 0.3 + len(text.split()) * 60 / self.words_per_minute
            return Speech(np.zeros(int(seconds * SAMPLE_RATE), np.float32), SAMPLE_RATE, "silence",
                          f"espeak-ng is not installed, so this narration is silent; {INSTALL_HINT}")
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "voice.wav"
            result = subprocess.run(
                [binary, "-v", VOICES.get(voice, voice), "-s", str(self.words_per_minute), "-w", str(wav), "--", text],
                capture_output=True, text=True,
            )
            if result.returncode != 0 or not wav.exists() or wav.stat().st_size < 100:
                raise VoiceError(f"espeak-ng could not speak with voice `{voice}`: {result.stderr.strip() or 'no audio'}; "
                                 f"use one of {', '.join(k for k in VOICES if k)} or a voice from `espeak-ng --voices`")
            return Speech(read_audio(wav)[:, 0], SAMPLE_RATE, self.name)
