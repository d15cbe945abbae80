"""The preview profile's composer: a chord progression, bass line and arpeggio for each music cue.

The cue's words set the mood: minor or major, tempo, brightness. The cue's seed picks the key.
Chords are soft detuned pads, the bass plucks the root, a bell-like arpeggio walks the chord
tones. Cues overlap by a second with equal-power fades. Output is stereo float32.
"""

import re

import numpy as np

from film_pipeline.backends import CueRequest

MINOR_WORDS = {"sad", "dark", "tense", "tension", "melancholy", "melancholic", "mystery", "mysterious",
               "ominous", "lonely", "grief", "suspense", "eerie", "night", "somber", "sombre", "cold"}
FAST_WORDS = {"fast", "action", "chase", "urgent", "energetic", "driving", "battle", "race", "upbeat"}
SLOW_WORDS = {"slow", "calm", "ambient", "gentle", "peaceful", "lullaby", "quiet", "soft", "drifting"}
# Degrees of a progression: (semitones above the key's root, chord quality)
MAJOR = [(0, "maj"), (7, "maj"), (9, "min"), (5, "maj")]   # I V vi IV
MINOR = [(0, "min"), (8, "maj"), (3, "maj"), (10, "maj")]  # i VI III VII
TRIADS = {"maj": (0, 4, 7), "min": (0, 3, 7)}
FADE_SECONDS = 1.0


def midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def place_cues(cues: list[CueRequest], seconds: float, rate: int, render) -> np.ndarray:
    """Lay each cue's music (`render(cue, seconds, rate)`, stereo) on the film's timeline.

    Cues overlap by a second with equal-power fades; every music backend shares this.
    """
    out = np.zeros((int(round(seconds * rate)), 2), np.float32)
    for cue in cues:
        first, last = int(cue.start * rate), min(len(out), int(cue.end * rate))
        if last <= first:
            continue
        piece = np.array(render(cue, (last - first) / rate, rate)[: last - first], np.float32)
        fade = min(int(FADE_SECONDS * rate), len(piece) // 2)
        if fade:
            ramp = np.sin(np.linspace(0, np.pi / 2, fade))[:, None]
            piece[:fade] *= ramp
            piece[-fade:] *= ramp[::-1]
        out[first:first + len(piece)] += piece
    return out


class ProceduralScore:
    name = "procedural-score"
    version = "1"

    def score(self, cues: list[CueRequest], seconds: float, rate: int) -> np.ndarray:
        return place_cues(cues, seconds, rate, self._cue)

    def _cue(self, cue: CueRequest, seconds: float, rate: int) -> np.ndarray:
        words = set(re.findall(r"[a-z]+", cue.prompt.lower()))
        rng = np.random.default_rng(cue.seed)
        minor = bool(words & MINOR_WORDS)
        bpm = 132 if words & FAST_WORDS else 72 if words & SLOW_WORDS else 96
        key = 45 + int(rng.integers(0, 12))  # A2..G#3
        beat = 60 / bpm
        bar = 4 * beat
        out = np.zeros((int(seconds * rate) + rate, 2), np.float32)
        progression = MINOR if minor else MAJOR
        for bar_index in range(int(np.ceil(seconds / bar))):
            degree, quality = progression[bar_index % len(progression)]
            root = key + degree
            chord = [root + 12 + i for i in TRIADS[quality]]
            start = bar_index * bar
            for note in chord:
                self._add(out, self._pad(midi_hz(note), bar * 1.1, rate), start, rate, pan=0.0, gain=0.06)
            for b in (0, 2):
                self._add(out, self._pluck(midi_hz(root), beat * 1.8, rate), start + b * beat, rate, pan=0.0, gain=0.16)
            steps = 8 if bpm >= 96 else 4
            for step in range(steps):
                note = chord[[0, 1, 2, 1][step % 4]] + 12 + (12 if step % 8 >= 6 else 0)
                self._add(out, self._bell(midi_hz(note), beat * 1.5, rate), start + step * bar / steps, rate,
                          pan=-0.4 if step % 2 else 0.4, gain=0.05)
        return out[: int(seconds * rate)]

    @staticmethod
    def _add(out, mono, start, rate, pan, gain):
        first = int(start * rate)
        piece = mono[: max(0, len(out) - first)] * gain
        out[first:first + len(piece), 0] += piece * np.sqrt((1 - pan) / 2) * np.sqrt(2)
        out[first:first + len(piece), 1] += piece * np.sqrt((1 + pan) / 2) * np.sqrt(2)

    @staticmethod
    def _pad(hz, seconds, rate):
        t = np.arange(int(seconds * rate)) / rate
        tone = sum(np.sin(2 * np.pi * hz * k * (1 + d) * t) / k for k in (1, 2, 3) for d in (-0.003, 0.003))
        attack, release = np.minimum(1, t / 0.4), np.minimum(1, (seconds - t) / 0.5)
        return (tone * attack * release).astype(np.float32)

    @staticmethod
    def _pluck(hz, seconds, rate):
        t = np.arange(int(seconds * rate)) / rate
        tone = np.sin(2 * np.pi * hz * t) + 0.3 * np.sin(4 * np.pi * hz * t)
        return (tone * np.exp(-t * 4) * np.minimum(1, t / 0.005)).astype(np.float32)

    @staticmethod
    def _bell(hz, seconds, rate):
        t = np.arange(int(seconds * rate)) / rate
        tone = np.sin(2 * np.pi * hz * t) + 0.25 * np.sin(2 * np.pi * hz * 2.76 * t) * np.exp(-t * 6)
        return (tone * np.exp(-t * 3) * np.minimum(1, t / 0.003)).astype(np.float32)
