"""The preview profile's upscaler: Lanczos resampling with a light unsharp mask."""

import numpy as np
from PIL import Image, ImageFilter


class LanczosUpscaler:
    name = "lanczos"
    version = "1"

    def upscale(self, frame: np.ndarray, factor: int) -> np.ndarray:
        if factor == 1:
            return frame
        image = Image.fromarray(frame)
        size = (image.width * factor, image.height * factor)
        sharp = image.resize(size, Image.Resampling.LANCZOS).filter(ImageFilter.UnsharpMask(radius=1.2, percent=60, threshold=2))
        return np.asarray(sharp)
