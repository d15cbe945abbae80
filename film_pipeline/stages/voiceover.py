"""voiceover: the shot's narration, spoken (an empty WAV when the shot has none)."""

from pathlib import Path

import numpy as np

from film_pipeline.media import write_wav
from film_pipeline.stages import Backends, Log, Rendered, device_of, model_id


def render(spec: dict, shot: str, backends: Backends, workdir: Path, log: Log) -> Rendered:
    path = workdir / "voice.wav"
    if not spec["text"].strip():  # no voice is loaded for a silent shot
        write_wav(path, np.zeros(0, np.float32))
        return {"audio": path}, {"backend": "none", "duration_seconds": 0.0, "text": "", "seed": spec["seed"]}
    voice = backends("speech", spec["backend"])
    speech = voice.speak(spec["text"], spec["voice"], spec["seed"])
    if speech.warning:
        log.warning(f"voiceover[{shot}]: {speech.warning}")
    write_wav(path, speech.samples, speech.rate)
    return {"audio": path}, {"backend": speech.backend, "model": model_id(spec["backend"]), "device": device_of(voice),
                             "voice": spec["voice"] or "narrator",
                             "duration_seconds": round(len(speech.samples) / speech.rate, 3), "text": spec["text"],
                             "seed": spec["seed"]}
