"""Scores for takes: which candidate keyframe or clip a film-maker would keep, measured.

Every score is in [0, 1], higher is better, and deterministic for the same pixels:
- sharpness: edge energy (variance of a Laplacian of luma), squashed into [0, 1);
- exposure: mid-tones used, few crushed shadows or blown highlights;
- for clips, steadiness (no frame-to-frame brightness flicker) and motion (not frozen);
- prompt adherence, where the profile names an image-text scorer (`backends/image_text.py`).
The take score is their mean; ties go to the lower take number, so the best take is stable.
"""

from collections.abc import Iterable

import numpy as np
from PIL import Image

SHARPNESS_SCALE = 1000.0  # Laplacian variance (0-255 luma) at which sharpness reaches about 0.63
FLICKER_SCALE = 4.0       # mean luma jump (0-255) between frames at which steadiness reaches about 0.37
FROZEN_STEP = 0.25        # mean absolute change (0-255) below which two frames count as the same


def luma(pixels: np.ndarray) -> np.ndarray:
    rgb = pixels.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def sharpness(gray: np.ndarray) -> float:
    laplacian = (-4 * gray[1:-1, 1:-1] + gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:])
    return float(1 - np.exp(-laplacian.var() / SHARPNESS_SCALE))


def exposure(gray: np.ndarray) -> float:
    clipped = float(np.mean((gray < 8) | (gray > 247)))
    centred = 1 - abs(float(gray.mean()) - 128) / 128
    return max(0.0, centred * (1 - clipped))


def image_scores(image: Image.Image) -> dict[str, float]:
    gray = luma(np.asarray(image.convert("RGB")))
    scores = {"sharpness": sharpness(gray), "exposure": exposure(gray)}
    return _with_total(scores)


def clip_scores(frames: Iterable[np.ndarray]) -> dict[str, float]:
    """Scores of a clip, frame by frame (never the whole clip in memory)."""
    means, steps, sharp, exposed = [], [], [], []
    previous = None
    for frame in frames:
        gray = luma(frame)
        means.append(float(gray.mean()))
        sharp.append(sharpness(gray))
        exposed.append(exposure(gray))
        if previous is not None:
            steps.append(float(np.abs(gray - previous).mean()))
        previous = gray
    if not means:
        return {"total": 0.0}
    jumps = np.abs(np.diff(means)) if len(means) > 1 else np.zeros(1)
    frozen_share = float(np.mean(np.array(steps) < FROZEN_STEP)) if steps else 1.0
    scores = {"sharpness": float(np.mean(sharp)), "exposure": float(np.mean(exposed)),
              "steadiness": float(np.exp(-float(jumps.mean()) / FLICKER_SCALE)), "motion": 1 - frozen_share}
    return _with_total(scores)


def with_adherence(scores: dict[str, float], adherence: float) -> dict[str, float]:
    """Add a prompt-adherence score (from the profile's image-text scorer) and recompute the total."""
    return _with_total({**{k: v for k, v in scores.items() if k != "total"}, "prompt": adherence})


def best_take(scores: dict[int, dict[str, float]]) -> int:
    """The take with the highest total; the lowest take number among equals."""
    return max(sorted(scores), key=lambda take: (round(scores[take]["total"], 6), -take))


def _with_total(scores: dict[str, float]) -> dict[str, float]:
    rounded = {name: round(value, 4) for name, value in scores.items()}
    rounded["total"] = round(sum(rounded.values()) / len(rounded), 4)
    return rounded
