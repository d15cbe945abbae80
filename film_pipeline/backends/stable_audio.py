"""Stable Audio Open scores (diffusers `StableAudioPipeline`): a latent diffusion model of stereo 44.1 kHz audio.

Each music cue is one seeded generation of the cue's own length (`audio_end_in_s`), from the
cue's prompt. The model makes at most `sample_size · hop_length / sampling_rate` seconds at once
(stabilityai/stable-audio-open-1.0: 1024 · 2048 / 44100 = 47.55 s; the tiny replica: 2.97 s), so a
longer cue is generated in equal pieces no longer than that, each seeded with the cue's seed plus
its index, and joined with a short crossfade (`crossfade` seconds, 0.5 by default). The pieces are
separate generations, not continuations: the joins are smooth but the music may change there.
The stereo output is mixed down to mono, resampled to the soundtrack's rate, and laid on the
film's timeline exactly as every music backend's cues are (`place_cues`).

The scheduler of the real checkpoint (`CosineDPMSolverMultistepScheduler`) draws its noise from
a Brownian tree of `torchsde`, which must be installed.
"""

import math
import warnings

import numpy as np
import torch

from film_pipeline.backends import CueRequest
from film_pipeline.backends.diffusers_common import prepare
from film_pipeline.backends.neural_audio import _crossfade, resample
from film_pipeline.backends.score import place_cues
from film_pipeline.models import generator, load_pretrained, pick_device, pick_dtype


def plan_pieces(seconds: float, longest: float, overlap: float) -> list[float]:
    """The lengths of the generations that cover `seconds`: one, or equal pieces of at most `longest`
    seconds that overlap their neighbours by `overlap` seconds (the crossfades)."""
    if seconds <= longest:
        return [seconds]
    count = math.ceil((seconds - overlap) / (longest - overlap))
    return [(seconds + (count - 1) * overlap) / count] * count


class StableAudioScore:
    """Music cues from Stable Audio Open (or any `StableAudioPipeline` checkpoint), one generation per cue.

    `max_seconds` caps a piece below the model's own maximum (say, to save memory); cues longer
    than the cap are generated in pieces and crossfaded. `negative_prompt` is what the music
    should avoid (the model card uses "Low quality."); guidance above 1 is classifier-free.
    """

    name = "stable-audio"
    version = "1"

    def __init__(self, model: str, steps: int = 100, guidance: float = 7.0, negative_prompt: str = "",
                 max_seconds: float | None = None, crossfade: float = 0.5, device: str = "auto", dtype: str = "auto",
                 cpu_offload: bool = False, attention_slicing: bool = False, vae_tiling: bool = False):
        from diffusers import StableAudioPipeline

        self.device = pick_device(device)
        with warnings.catch_warnings():  # the Oobleck VAE's weight norm is torch's older API: a notice per load
            warnings.filterwarnings("ignore", message=".*weight_norm.* is deprecated", category=FutureWarning)
            pipe = load_pretrained(StableAudioPipeline, model, "music", dtype=pick_dtype(dtype, self.device))
        self.pipe = prepare(pipe, self.device, cpu_offload, attention_slicing, vae_tiling)
        self.steps, self.guidance, self.negative_prompt = steps, guidance, negative_prompt or None
        self.model_rate = pipe.vae.config.sampling_rate
        self.model_seconds = pipe.transformer.config.sample_size * pipe.vae.hop_length / self.model_rate
        self.longest = min(self.model_seconds, max_seconds or self.model_seconds)
        self.crossfade = min(crossfade, self.longest / 2)

    def score(self, cues: list[CueRequest], seconds: float, rate: int) -> np.ndarray:
        return place_cues(cues, seconds, rate, self._cue)

    def _cue(self, cue: CueRequest, seconds: float, rate: int) -> np.ndarray:
        lengths = plan_pieces(seconds, self.longest, self.crossfade)
        pieces = [self._generate(cue.prompt, length, cue.seed + index) for index, length in enumerate(lengths)]
        mono = _crossfade(pieces, int(self.crossfade * self.model_rate))
        stereo = resample(mono, self.model_rate, rate, channels=2)
        return _fit(stereo, int(round(seconds * rate)))

    @torch.inference_mode()
    def _generate(self, prompt: str, seconds: float, seed: int) -> np.ndarray:
        """One generation of `seconds` (at most the model's maximum), mono at the model's rate."""
        with warnings.catch_warnings():
            # torchsde notes that the last step (sigma 0) lies outside the Brownian tree's interval
            warnings.filterwarnings("ignore", module="torchsde")
            audio = self.pipe(prompt, audio_end_in_s=min(seconds, self.model_seconds), num_inference_steps=self.steps,
                              guidance_scale=self.guidance, negative_prompt=self.negative_prompt,
                              generator=generator(self.device, seed)).audios
        return audio[0].float().mean(dim=0).cpu().numpy()


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    """Exactly `length` frames: resampling may round a frame or two off."""
    if len(samples) >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros((length - len(samples),) + samples.shape[1:], samples.dtype)])
