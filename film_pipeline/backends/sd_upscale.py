"""Stable Diffusion's x4 upscaler as an upscale backend (kept for keyframes: per-frame diffusion
flickers on clips)."""

import numpy as np
from PIL import Image

from film_pipeline.backends.diffusers_common import prepare
from film_pipeline.models import generator, load_pretrained, pick_device, pick_dtype


class DiffusersX4Upscaler:
    """Stable Diffusion's x4 upscaler, frame by frame with one seed so the grain stays still."""

    name = "diffusers-x4"
    version = "1"

    def __init__(self, model: str, steps: int = 20, guidance: float = 0.0, noise_level: int = 20, prompt: str = "",
                 seed: int = 0, device: str = "auto", dtype: str = "auto", cpu_offload: bool = False,
                 attention_slicing: bool = False, vae_tiling: bool = True):
        from diffusers import StableDiffusionUpscalePipeline

        self.device = pick_device(device)
        pipe = load_pretrained(StableDiffusionUpscalePipeline, model, "upscale", dtype=pick_dtype(dtype, self.device))
        self.pipe = prepare(pipe, self.device, cpu_offload, attention_slicing, vae_tiling)
        self.steps, self.guidance, self.noise_level, self.prompt, self.seed = steps, guidance, noise_level, prompt, seed

    def upscale(self, frame: np.ndarray, factor: int) -> np.ndarray:
        if factor == 1:
            return frame
        image = Image.fromarray(frame)
        big = self.pipe(prompt=self.prompt, image=image, num_inference_steps=self.steps, guidance_scale=self.guidance,
                        noise_level=self.noise_level, generator=generator(self.device, self.seed)).images[0]
        size = (image.width * factor, image.height * factor)
        return np.asarray(big.convert("RGB").resize(size, Image.Resampling.LANCZOS) if big.size != size else big.convert("RGB"))
