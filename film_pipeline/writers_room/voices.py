"""The voices a profile can speak with, and how long a line takes to say in them.

The preview profile speaks with one Piper voice, `tiny` and `full` with one VITS voice each:
every character gets `narrator` there. espeak-ng (a backend a film can choose under `models:`)
has a handful, handed out one per character in the order they first speak.
"""

from film_pipeline.profiles import stage_config

NARRATOR = "narrator"
# speaking speed of each speech backend, measured on its default voice (characters of text per
# second, pauses at full stops included; a little slow on purpose, so a line fits its shot)
CHARS_PER_SECOND = {"piper": 14.0, "vits": 13.0, "espeak-ng": 15.0}


def speech_backend(profile: str) -> str:
    return stage_config(profile, "speech")["backend"]


def profile_voices(profile: str) -> tuple[str, ...]:
    """The `voice:` values a shot may use under the profile, the narrator first."""
    backend = speech_backend(profile)
    if backend == "espeak-ng":
        from film_pipeline.backends.voice import VOICES

        return (NARRATOR, *[name for name in VOICES if name and name != NARRATOR])
    return (NARRATOR,)


def speech_seconds(text: str, profile: str) -> float:
    """About how long the profile's voice takes to say `text`."""
    return 0.4 + len(" ".join(text.split())) / CHARS_PER_SECOND.get(speech_backend(profile), 14.0)


def reading_seconds(text: str) -> float:
    """How long a shot described by `text` should hold: the time to read it (about 200 words a minute)."""
    return len(text.split()) * 0.3
