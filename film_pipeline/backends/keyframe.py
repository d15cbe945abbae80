"""The preview profile's keyframe painter: a deterministic matte painting read from the prompt.

No model: the prompt's words choose the palette and the elements (sun or moon, stars, mountains,
forest, city, water, rain), the seed lays out the composition, and each character becomes a
silhouette in the colour its description names. Same request, same pixels.
"""

import colorsys
import re
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from film_pipeline.backends import CharacterLook, KeyframeRequest

# (sky top, sky horizon, land) for the first matching word; order matters.
PALETTES = [
    (("space", "galaxy", "cosmos", "starfield"), (2, 3, 12), (24, 18, 48), (20, 18, 30)),
    (("night", "midnight", "moon", "moonlit", "dark"), (8, 12, 38), (44, 56, 98), (16, 20, 32)),
    (("sunset", "dusk", "evening", "twilight"), (52, 32, 92), (252, 142, 70), (58, 34, 44)),
    (("dawn", "sunrise", "morning"), (106, 150, 214), (252, 196, 170), (82, 96, 74)),
    (("storm", "rain", "thunder", "fog", "mist", "grey", "gray"), (62, 70, 82), (142, 148, 156), (54, 60, 58)),
    (("snow", "winter", "ice", "frozen", "arctic"), (150, 184, 220), (232, 240, 248), (214, 224, 236)),
    (("desert", "sand", "dune", "canyon"), (96, 160, 226), (248, 214, 160), (206, 156, 96)),
    (("fire", "lava", "inferno", "burning", "volcano"), (42, 8, 8), (226, 90, 24), (52, 20, 14)),
    (("ocean", "sea", "beach", "lake", "river", "harbor", "harbour"), (70, 140, 214), (190, 220, 236), (46, 96, 128)),
    (("forest", "jungle", "woods", "garden", "meadow", "field"), (96, 164, 220), (206, 228, 214), (46, 98, 52)),
    (("city", "street", "neon", "rooftop", "alley", "town"), (26, 30, 62), (126, 90, 150), (36, 36, 46)),
]
COLOURS = {
    "red": (200, 40, 40), "crimson": (170, 20, 40), "orange": (236, 128, 32), "yellow": (240, 210, 60),
    "gold": (222, 180, 60), "golden": (222, 180, 60), "green": (60, 170, 80), "teal": (40, 150, 150),
    "blue": (50, 90, 210), "navy": (30, 40, 110), "purple": (130, 60, 170), "violet": (150, 90, 210),
    "pink": (236, 120, 170), "white": (236, 236, 236), "silver": (190, 196, 206), "grey": (128, 128, 128),
    "gray": (128, 128, 128), "black": (26, 26, 30), "brown": (120, 78, 46), "copper": (184, 110, 60),
}
ELEMENTS = {
    "stars": ("night", "space", "star", "stars", "galaxy", "midnight", "cosmos"),
    "moon": ("night", "moon", "moonlit", "midnight"),
    "sun": ("sun", "sunset", "sunrise", "dawn", "dusk", "desert", "summer", "noon"),
    "mountains": ("mountain", "mountains", "peak", "valley", "hills", "cliff", "canyon", "ridge"),
    "forest": ("forest", "jungle", "woods", "trees", "tree", "garden"),
    "city": ("city", "street", "neon", "rooftop", "skyline", "town", "tower", "alley"),
    "water": ("ocean", "sea", "beach", "lake", "river", "harbor", "harbour", "shore", "waves"),
    "rain": ("rain", "storm", "rainy", "downpour"),
}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _mix(a, b, t):
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


class ProceduralKeyframe:
    name = "procedural-keyframe"
    version = "2"

    def paint(self, request: KeyframeRequest) -> Image.Image:
        width, height = request.size
        words = _words(request.prompt + " " + (request.style or ""))
        rng = np.random.default_rng(request.seed)
        top, horizon, land = self._palette(words, request.prompt)
        horizon_y = int(height * rng.uniform(0.52, 0.66))
        image = self._sky(width, height, top, horizon)
        draw = ImageDraw.Draw(image, "RGBA")
        if self._has(words, "stars"):
            self._stars(draw, rng, width, horizon_y)
        if self._has(words, "moon") or self._has(words, "sun"):
            self._orb(image, rng, width, horizon_y, sun=self._has(words, "sun") and not self._has(words, "moon"))
        self._ridges(draw, rng, width, height, horizon_y, horizon, land,
                     layers=3 if self._has(words, "mountains") else 1)
        if self._has(words, "city"):
            self._city(draw, rng, width, horizon_y, land)
        self._ground(draw, width, height, horizon_y, land)
        if self._has(words, "water"):
            self._water(image, rng, horizon_y)
        if self._has(words, "forest"):
            self._trees(draw, rng, width, height, horizon_y, land)
        for index, character in enumerate(request.characters):
            self._figure(draw, character, index, len(request.characters), width, height, horizon_y)
        if self._has(words, "rain"):
            self._rain(draw, rng, width, height)
        return self._finish(image, words, rng)

    @staticmethod
    def _has(words: set[str], element: str) -> bool:
        return bool(words & set(ELEMENTS[element]))

    @staticmethod
    def _palette(words: set[str], prompt: str):
        for keys, top, horizon, land in PALETTES:
            if words & set(keys):
                return top, horizon, land
        hue = (zlib.crc32(prompt.encode()) % 360) / 360  # unknown words: a stable colour of their own
        rgb = lambda h, s, v: tuple(int(c * 255) for c in colorsys.hsv_to_rgb(h % 1, s, v))
        return rgb(hue, 0.55, 0.45), rgb(hue + 0.08, 0.30, 0.92), rgb(hue + 0.45, 0.40, 0.30)

    @staticmethod
    def _sky(width, height, top, horizon) -> Image.Image:
        t = np.linspace(0, 1, height)[:, None, None] ** 0.8
        sky = np.array(top)[None, None, :] * (1 - t) + np.array(horizon)[None, None, :] * t
        return Image.fromarray(np.repeat(sky, width, axis=1).astype(np.uint8), "RGB")

    @staticmethod
    def _stars(draw, rng, width, horizon_y):
        for _ in range(int(width * horizon_y / 900)):
            x, y = rng.uniform(0, width), rng.uniform(0, horizon_y * 0.9)
            r, a = rng.uniform(0.4, 1.4), int(rng.uniform(90, 255))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 240, a))

    @staticmethod
    def _orb(image, rng, width, horizon_y, sun: bool):
        x, y = rng.uniform(0.2, 0.8) * width, rng.uniform(0.25, 0.6) * horizon_y
        r = horizon_y * (0.11 if sun else 0.07)
        colour = (255, 214, 150) if sun else (236, 236, 222)
        glow = Image.new("RGBA", image.size, (0, 0, 0, 0))
        ImageDraw.Draw(glow).ellipse((x - 3 * r, y - 3 * r, x + 3 * r, y + 3 * r), fill=colour + (70,))
        image.paste(glow.filter(ImageFilter.GaussianBlur(r)), (0, 0), glow.filter(ImageFilter.GaussianBlur(r)))
        ImageDraw.Draw(image).ellipse((x - r, y - r, x + r, y + r), fill=colour)

    @staticmethod
    def _ridge_line(rng, width, base, amplitude):
        xs = np.linspace(0, 1, width + 1)
        ys = np.zeros_like(xs)
        for octave in range(1, 6):  # a few sines of rising frequency: a calm fractal skyline
            ys += np.sin(xs * np.pi * 2 * octave * rng.uniform(0.6, 1.4) + rng.uniform(0, 6.28)) / octave
        return base - amplitude * (ys - ys.min()) / (np.ptp(ys) or 1)

    def _ridges(self, draw, rng, width, height, horizon_y, horizon, land, layers):
        for layer in range(layers):
            depth = (layer + 1) / (layers + 1)  # far ridges fade into the sky
            colour = _mix(horizon, land, 0.35 + 0.65 * depth)
            ys = self._ridge_line(rng, width, horizon_y + 4, height * (0.32 - 0.08 * layer) * (0.45 if layers == 1 else 1))
            draw.polygon([(0, height)] + [(x, y) for x, y in enumerate(ys)] + [(width, height)], fill=colour)

    @staticmethod
    def _city(draw, rng, width, horizon_y, land):
        x = 0.0
        while x < width:
            w, h = rng.uniform(0.03, 0.08) * width, rng.uniform(0.12, 0.45) * horizon_y
            draw.rectangle((x, horizon_y - h, x + w, horizon_y + 2), fill=_mix(land, (0, 0, 0), 0.3))
            for wy in np.arange(horizon_y - h + 4, horizon_y - 2, 6):
                for wx in np.arange(x + 3, x + w - 3, 6):
                    if rng.random() < 0.35:
                        draw.rectangle((wx, wy, wx + 2, wy + 2), fill=(255, 214, 120, 220))
            x += w + rng.uniform(0, 0.01) * width

    @staticmethod
    def _ground(draw, width, height, horizon_y, land):
        for row in range(horizon_y, height, 2):  # darker toward the viewer
            t = (row - horizon_y) / max(1, height - horizon_y)
            draw.rectangle((0, row, width, row + 2), fill=_mix(land, (0, 0, 0), 0.35 * t) + (140,))

    @staticmethod
    def _water(image, rng, horizon_y):
        pixels = np.asarray(image).copy()
        height = pixels.shape[0]
        depth = height - horizon_y
        mirror = pixels[max(0, horizon_y - depth):horizon_y][::-1].copy()  # a view would ripple the sky too
        rows = np.arange(mirror.shape[0])
        shift = (np.sin(rows * 0.35 + rng.uniform(0, 6)) * (1 + rows / 12)).astype(int)
        for row, offset in zip(rows, shift):  # ripples: each reflected row slides a little
            mirror[row] = np.roll(mirror[row], offset, axis=0)
        water = (mirror * 0.62 + np.array([10, 30, 50]) * 0.38).astype(np.uint8)
        pixels[horizon_y:horizon_y + water.shape[0]] = water
        image.paste(Image.fromarray(pixels))

    @staticmethod
    def _trees(draw, rng, width, height, horizon_y, land):
        for _ in range(int(width / 14)):
            x = rng.uniform(0, width)
            base = rng.uniform(horizon_y, horizon_y + (height - horizon_y) * 0.5)
            h = (base - horizon_y + 12) * rng.uniform(0.6, 1.1)
            colour = _mix(land, (0, 0, 0), rng.uniform(0.2, 0.5))
            draw.polygon([(x, base - h), (x - h * 0.28, base), (x + h * 0.28, base)], fill=colour)

    @staticmethod
    def _figure(draw, character: CharacterLook, index, count, width, height, horizon_y):
        named = [COLOURS[w] for w in re.findall(r"[a-z]+", character.description.lower()) if w in COLOURS]
        hue = (character.seed % 360) / 360
        colour = named[0] if named else tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hue, 0.6, 0.8))
        x = width * (index + 1) / (count + 1) + width * 0.04 * (((character.seed >> 8) % 3) - 1)
        feet = height * 0.94
        tall = (feet - horizon_y) * (0.9 + 0.15 * ((character.seed >> 4) % 3))
        head = tall * 0.13
        body = (x - tall * 0.16, feet - tall * 0.78, x + tall * 0.16, feet)
        draw.ellipse((x - tall * 0.3, feet - tall * 0.05, x + tall * 0.3, feet + tall * 0.04), fill=(0, 0, 0, 80))
        draw.rounded_rectangle(body, radius=tall * 0.1, fill=colour)
        draw.ellipse((x - head, feet - tall - head * 0.2, x + head, feet - tall + head * 1.8), fill=_mix(colour, (255, 230, 210), 0.5))

    @staticmethod
    def _rain(draw, rng, width, height):
        for _ in range(width // 3):
            x, y = rng.uniform(0, width), rng.uniform(0, height)
            draw.line((x, y, x - 3, y + 12), fill=(200, 210, 230, 90), width=1)

    @staticmethod
    def _finish(image, words, rng) -> Image.Image:
        if words & {"noir", "monochrome", "grayscale"} or {"black", "white"} <= words:
            image = ImageOps.grayscale(image).convert("RGB")
        elif words & {"sepia", "vintage", "old"}:
            image = ImageOps.colorize(ImageOps.grayscale(image), (40, 26, 12), (250, 230, 196))
        if words & {"watercolor", "watercolour", "pastel", "dreamy", "soft"}:
            image = Image.blend(image.filter(ImageFilter.GaussianBlur(2)), Image.new("RGB", image.size, (246, 240, 230)), 0.2)
        pixels = np.asarray(image).astype(np.float32)
        h, w = pixels.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        vignette = 1 - 0.35 * (((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / 2
        grain = rng.normal(0, 3.0, (h, w, 1))
        return Image.fromarray(np.clip(pixels * vignette[..., None] + grain, 0, 255).astype(np.uint8))
