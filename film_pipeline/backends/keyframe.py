"""The preview profile's keyframe painter: a deterministic matte painting read from the prompt.

No image model: the prompt's phrases are mapped by meaning (a small sentence embedder, see
`meaning.py`) onto the painter's motifs, and the motifs choose the palette and the elements (sun
or moon, stars, mountains, forest, city, water, rain, a tower, a house, a boat, birds) and the
finish. "the ocean at dusk" and "the sea at sunset" paint the same motifs. Phrases that match no
motif still count: they tint the palette, and the whole prompt seeds the layout with the shot's
seed, so every distinct prompt paints a distinct picture. Each character becomes a silhouette in
the colour its description names. Same request, same pixels.
"""

import colorsys
import re
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from film_pipeline.backends import CharacterLook, KeyframeRequest

# (sky top, sky horizon, land)
PALETTES = {
    "space": ((2, 3, 12), (24, 18, 48), (20, 18, 30)),
    "night": ((8, 12, 38), (44, 56, 98), (16, 20, 32)),
    "sunset": ((52, 32, 92), (252, 142, 70), (58, 34, 44)),
    "dawn": ((106, 150, 214), (252, 196, 170), (82, 96, 74)),
    "storm": ((62, 70, 82), (142, 148, 156), (54, 60, 58)),
    "snow": ((150, 184, 220), (232, 240, 248), (214, 224, 236)),
    "desert": ((96, 160, 226), (248, 214, 160), (206, 156, 96)),
    "fire": ((42, 8, 8), (226, 90, 24), (52, 20, 14)),
    "sea": ((70, 140, 214), (190, 220, 236), (46, 96, 128)),
    "forest": ((96, 164, 220), (206, 228, 214), (46, 98, 52)),
    "city": ((26, 30, 62), (126, 90, 150), (36, 36, 46)),
}
PALETTE_ORDER = tuple(PALETTES)  # when several motifs bring a palette, the first in this order wins


@dataclass(frozen=True)
class Motif:
    descriptions: tuple[str, ...]  # what the prompt's phrases are compared with; one-word ones also by spelling
    palette: str | None = None
    elements: tuple[str, ...] = ()
    finish: str | None = None


MOTIFS = {
    "space": Motif(("space", "galaxy", "cosmos", "starfield", "nebula", "outer space", "planets in the void",
                    "a spaceship among the stars"), "space", ("stars",)),
    "night": Motif(("night", "midnight", "nighttime", "tonight", "a dark night sky"), "night", ("stars", "moon")),
    "dark": Motif(("dark", "darkness", "gloomy", "shadows"), "night"),
    "moon": Motif(("moon", "moonlit", "moonlight", "a full moon"), "night", ("moon",)),
    "stars": Motif(("star", "stars", "starry", "a starry sky"), None, ("stars",)),
    "sunset": Motif(("sunset", "dusk", "evening", "twilight", "the setting sun"), "sunset", ("sun",)),
    "dawn": Motif(("dawn", "sunrise", "morning", "daybreak", "early morning light"), "dawn", ("sun",)),
    "sun": Motif(("sun", "sunny", "sunshine", "summer", "noon", "midday", "a bright day"), None, ("sun",)),
    "storm": Motif(("storm", "stormy", "thunder", "lightning", "tempest", "thunderstorm"), "storm", ("rain",)),
    "rain": Motif(("rain", "rainy", "downpour", "drizzle", "raindrops"), "storm", ("rain",)),
    "fog": Motif(("fog", "foggy", "mist", "misty", "haze", "grey", "gray", "overcast", "clouds", "cloudy"), "storm"),
    "snow": Motif(("snow", "snowy", "winter", "ice", "icy", "frozen", "arctic", "blizzard", "frost"), "snow"),
    "desert": Motif(("desert", "sand", "dune", "dunes", "canyon", "arid wasteland"), "desert", ("sun",)),
    "fire": Motif(("fire", "lava", "inferno", "burning", "volcano", "flames", "blaze"), "fire"),
    "sea": Motif(("sea", "ocean", "beach", "harbor", "harbour", "shore", "waves", "coast", "bay", "the open sea",
                  "an island"), "sea", ("water",)),
    "lake": Motif(("lake", "river", "pond", "stream", "water"), "sea", ("water",)),
    "forest": Motif(("forest", "jungle", "woods", "trees", "tree", "woodland", "pines"), "forest", ("forest",)),
    "meadow": Motif(("meadow", "field", "garden", "grass", "grassland", "farmland", "countryside"), "forest"),
    "mountains": Motif(("mountain", "mountains", "peak", "peaks", "valley", "hills", "cliff", "cliffs", "ridge"),
                       None, ("mountains",)),
    "city": Motif(("city", "street", "streets", "neon", "rooftop", "rooftops", "skyline", "town", "alley",
                   "skyscrapers", "downtown"), "city", ("city",)),
    "tower": Motif(("tower", "lighthouse", "castle", "spire", "steeple", "windmill", "a tall tower"), None, ("tower",)),
    "house": Motif(("house", "cabin", "cottage", "hut", "barn", "farmhouse", "chapel", "a small house"), None,
                   ("house",)),
    "boat": Motif(("boat", "ship", "sailboat", "yacht", "ferry", "a sailing ship"), None, ("boat",)),
    "birds": Motif(("birds", "bird", "seagulls", "gulls", "crows", "a flock of birds"), None, ("birds",)),
    "monochrome": Motif(("noir", "monochrome", "grayscale", "black and white", "film noir"), finish="monochrome"),
    "sepia": Motif(("sepia", "vintage", "an old photograph", "faded old film"), finish="sepia"),
    "soft": Motif(("watercolor", "watercolour", "pastel", "dreamy", "soft", "soft focus"), finish="soft"),
}
# What prompts often say that the painter has no motif for: a phrase nearest one of these is left
# unmatched (it tints the picture) instead of being forced onto the nearest motif.
OTHERS = (
    "a person", "a man", "a woman", "a child", "an old woman", "a girl", "a boy", "people", "a crowd", "a figure",
    "a keeper", "a robot", "an animal", "a cat", "a dog", "a horse", "a dragon", "a monster",
    "a car", "a train", "a vehicle", "a road", "a bridge", "a room", "a kitchen", "a bedroom", "inside a building",
    "a door", "a window", "a table", "a lamp", "a coat", "clothes", "a face", "hands", "eyes",
    "light", "a glow", "colour", "red", "blue", "green", "white", "black", "warm", "cold", "calm", "quiet", "silence",
    "film grain", "painterly", "a painting", "cinematic", "a photograph", "a camera move", "handheld", "a close-up",
    "hope", "love", "fear", "a memory", "a feeling", "time", "the end",
    "the sky", "the ground", "the air", "wind", "dust", "the top", "the edge", "far away",
)
COLOURS = {
    "red": (200, 40, 40), "crimson": (170, 20, 40), "orange": (236, 128, 32), "yellow": (240, 210, 60),
    "gold": (222, 180, 60), "golden": (222, 180, 60), "green": (60, 170, 80), "teal": (40, 150, 150),
    "blue": (50, 90, 210), "navy": (30, 40, 110), "purple": (130, 60, 170), "violet": (150, 90, 210),
    "pink": (236, 120, 170), "white": (236, 236, 236), "silver": (190, 196, 206), "grey": (128, 128, 128),
    "gray": (128, 128, 128), "black": (26, 26, 30), "brown": (120, 78, 46), "copper": (184, 110, 60),
}
WINDOW = (255, 214, 120)


@dataclass(frozen=True)
class Scene:
    """What the painter read from a request: the motifs and what they paint, and what it did not know."""

    motifs: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]  # sky top, sky horizon, land (tinted by `unknown`)
    elements: frozenset[str]
    finish: frozenset[str]
    unknown: tuple[str, ...]  # the prompt's phrases no motif matched
    layout: int               # mixed with the seed: the prompt's own composition
    read_as: tuple[str, ...] = ()  # "sea ← ocean", for the storyboard's metadata

    def has(self, element: str) -> bool:
        return element in self.elements


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _mix(a, b, t):
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


def _hsv(h, s, v):
    return tuple(int(c * 255) for c in colorsys.hsv_to_rgb(h % 1, s, v))


def read_scene(request: KeyframeRequest) -> Scene:
    """The request's motifs (from its prompt and style), palette, elements and finish."""
    from film_pipeline.backends.meaning import read_prompt

    descriptions = {name: motif.descriptions for name, motif in MOTIFS.items()}
    cast = [c.name for c in request.characters] + [c.description for c in request.characters]
    prompt = read_prompt(request.prompt, descriptions, OTHERS, ignore=cast)  # characters are drawn as figures
    style = read_prompt(request.style or "", descriptions, OTHERS)
    motifs = tuple(dict.fromkeys(prompt.motifs + style.motifs))
    if {"black", "white"} <= _words(request.prompt + " " + (request.style or "")):
        motifs += ("monochrome",)  # "black and white" is split at its "and"
    found = {MOTIFS[m].palette for m in motifs}
    unknown = prompt.unmatched
    key = " ".join(re.findall(r"[a-z0-9]+", request.prompt.lower()))
    name = next((p for p in PALETTE_ORDER if p in found), None)
    if name is None:  # nothing known sets the colours: a stable palette of the prompt's own
        hue = (zlib.crc32(key.encode()) % 360) / 360
        palette = (_hsv(hue, 0.55, 0.45), _hsv(hue + 0.08, 0.30, 0.92), _hsv(hue + 0.45, 0.40, 0.30))
    else:
        palette = _tint(PALETTES[name], unknown)
    read_as = tuple(f"{m.motif} ← {m.phrase}" + (f" (~{m.via}, {m.similarity:.2f})" if m.similarity < 1 else "")
                    for m in prompt.matches + style.matches if m.motif)
    return Scene(motifs, palette, frozenset(e for m in motifs for e in MOTIFS[m].elements),
                 frozenset(MOTIFS[m].finish for m in motifs if MOTIFS[m].finish), unknown, zlib.crc32(key.encode()),
                 read_as)


def _tint(palette, unknown: tuple[str, ...]):
    """A colour cast of the unknown phrases' own (a hash of their words): "a dragon at night" and
    "a robot at night" are both night, in slightly different light. Darks stay dark."""
    if not unknown:
        return palette
    hue = (zlib.crc32("|".join(unknown).encode()) % 3600) / 3600
    cast = np.array(colorsys.hsv_to_rgb(hue, 1.0, 1.0))
    gain = 1 + 0.32 * (cast - cast.mean())
    return tuple(tuple(int(min(255, round(c * g))) for c, g in zip(colour, gain)) for colour in palette)


class ProceduralKeyframe:
    name = "procedural-keyframe"
    # 3: the prompt is read by meaning (a sentence embedder maps its phrases onto the motifs), unknown
    # phrases tint the palette and the prompt seeds the layout, towers, houses, boats and birds are
    # painted: every preview keyframe changes, so every preview storyboard re-renders, on purpose.
    version = "3"

    def paint(self, request: KeyframeRequest) -> Image.Image:
        return self.compose(request, read_scene(request))

    def facts(self, request: KeyframeRequest) -> dict:
        """How the prompt was read, for the storyboard's metadata: the motifs painted, and what was not."""
        scene = read_scene(request)
        return {"prompt_motifs": "; ".join(scene.read_as) or "none",
                "prompt_unmatched": ", ".join(scene.unknown) or "none"}

    def compose(self, request: KeyframeRequest, scene: Scene) -> Image.Image:
        width, height = request.size
        rng = np.random.default_rng([request.seed, scene.layout])
        top, horizon, land = scene.palette
        horizon_y = int(height * rng.uniform(0.52, 0.66))
        image = self._sky(width, height, top, horizon)
        draw = ImageDraw.Draw(image, "RGBA")
        dark = sum(top) / 3 < 70
        if scene.has("stars"):
            self._stars(draw, rng, width, horizon_y)
        if scene.has("moon") or scene.has("sun"):
            self._orb(image, rng, width, horizon_y, sun=scene.has("sun") and not scene.has("moon"))
        self._ridges(draw, rng, width, height, horizon_y, horizon, land, layers=3 if scene.has("mountains") else 1)
        if scene.has("city"):
            self._city(draw, rng, width, horizon_y, land)
        if scene.has("tower"):
            self._tower(image, rng, width, horizon_y, land, lit=dark)
            draw = ImageDraw.Draw(image, "RGBA")
        if scene.has("house"):
            self._house(draw, rng, width, horizon_y, land, lit=dark)
        self._ground(draw, width, height, horizon_y, land)
        if scene.has("water"):
            self._water(image, rng, horizon_y)
        if scene.has("boat"):
            self._boat(draw, rng, width, height, horizon_y, horizon, land, on_water=scene.has("water"))
        if scene.has("forest"):
            self._trees(draw, rng, width, height, horizon_y, land)
        for index, character in enumerate(request.characters):
            self._figure(draw, character, index, len(request.characters), width, height, horizon_y)
        if scene.has("birds"):
            self._birds(draw, rng, width, horizon_y, top, horizon, light=dark)
        if scene.has("rain"):
            self._rain(draw, rng, width, height)
        return self._finish(image, scene.finish, rng)

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
    def _glow(image, x, y, r, colour, alpha):
        glow = Image.new("RGBA", image.size, (0, 0, 0, 0))
        ImageDraw.Draw(glow).ellipse((x - 3 * r, y - 3 * r, x + 3 * r, y + 3 * r), fill=colour + (alpha,))
        glow = glow.filter(ImageFilter.GaussianBlur(r))
        image.paste(glow, (0, 0), glow)

    def _orb(self, image, rng, width, horizon_y, sun: bool):
        x, y = rng.uniform(0.2, 0.8) * width, rng.uniform(0.25, 0.6) * horizon_y
        r = horizon_y * (0.11 if sun else 0.07)
        colour = (255, 214, 150) if sun else (236, 236, 222)
        self._glow(image, x, y, r, colour, 70)
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
                        draw.rectangle((wx, wy, wx + 2, wy + 2), fill=WINDOW + (220,))
            x += w + rng.uniform(0, 0.01) * width

    def _tower(self, image, rng, width, horizon_y, land, lit: bool):
        """A tall tapering tower on the horizon (a lighthouse, a castle keep), its lamp lit at night."""
        x, h = rng.uniform(0.12, 0.88) * width, horizon_y * rng.uniform(0.38, 0.52)
        base, w = horizon_y + 3, max(3.0, h * 0.15)
        top = base - h
        colour = _mix(land, (0, 0, 0), 0.4)
        if lit:
            self._glow(image, x, top - w * 0.35, w * 0.9, WINDOW, 90)
        draw = ImageDraw.Draw(image, "RGBA")
        draw.polygon([(x - w / 2, base), (x - w * 0.32, top), (x + w * 0.32, top), (x + w / 2, base)], fill=colour)
        lamp = WINDOW if lit else _mix(colour, (255, 255, 255), 0.15)
        draw.rectangle((x - w * 0.28, top - w * 0.7, x + w * 0.28, top), fill=lamp)
        draw.polygon([(x - w * 0.42, top - w * 0.7), (x, top - w * 1.25), (x + w * 0.42, top - w * 0.7)], fill=colour)

    @staticmethod
    def _house(draw, rng, width, horizon_y, land, lit: bool):
        """A small house with a pitched roof on the horizon, a warm window at night."""
        x, w = rng.uniform(0.1, 0.9) * width, rng.uniform(0.06, 0.09) * width
        base, h = horizon_y + 3, w * 0.55
        colour = _mix(land, (0, 0, 0), 0.45)
        draw.rectangle((x - w / 2, base - h, x + w / 2, base), fill=colour)
        draw.polygon([(x - w * 0.6, base - h), (x, base - h - w * 0.42), (x + w * 0.6, base - h)], fill=colour)
        s = w * 0.14
        draw.rectangle((x - w * 0.25, base - h * 0.6, x - w * 0.25 + s, base - h * 0.6 + s),
                       fill=WINDOW + (230,) if lit else _mix(colour, (0, 0, 0), 0.4))

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
    def _boat(draw, rng, width, height, horizon_y, horizon, land, on_water: bool):
        """A sailing boat: on the water when there is some, else on the horizon."""
        x, length = rng.uniform(0.15, 0.85) * width, rng.uniform(0.07, 0.11) * width
        y = horizon_y + (height - horizon_y) * rng.uniform(0.12, 0.35) if on_water else horizon_y + 2
        hull = length * 0.16
        colour = _mix(land, (0, 0, 0), 0.5)
        draw.polygon([(x - length / 2, y - hull), (x + length / 2, y - hull), (x + length * 0.36, y),
                      (x - length * 0.36, y)], fill=colour)
        mast = length * 0.85
        draw.line((x, y - hull, x, y - hull - mast), fill=colour, width=max(1, int(length / 40)))
        draw.polygon([(x + 1, y - hull - mast), (x + 1, y - hull - 1), (x + length * 0.42, y - hull - 1)],
                     fill=_mix(horizon, (255, 255, 255), 0.35))
        draw.polygon([(x - 1, y - hull - mast * 0.8), (x - 1, y - hull - 1), (x - length * 0.3, y - hull - 1)],
                     fill=_mix(horizon, (255, 255, 255), 0.2))

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
    def _birds(draw, rng, width, horizon_y, top, horizon, light: bool):
        """A loose flock: small Vs in the sky, dark against a bright sky, pale against a dark one."""
        colour = _mix(horizon, (255, 255, 255), 0.5) if light else _mix(top, (0, 0, 0), 0.6)
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.15, 0.45) * horizon_y
        for _ in range(int(rng.integers(5, 10))):
            x, y = cx + rng.normal(0, width * 0.07), cy + rng.normal(0, horizon_y * 0.06)
            span, lift = width * rng.uniform(0.008, 0.016), rng.uniform(0.3, 0.6)
            draw.line((x - span, y - span * lift, x, y, x + span, y - span * lift), fill=colour,
                      width=max(1, int(width / 300)), joint="curve")

    @staticmethod
    def _rain(draw, rng, width, height):
        for _ in range(width // 3):
            x, y = rng.uniform(0, width), rng.uniform(0, height)
            draw.line((x, y, x - 3, y + 12), fill=(200, 210, 230, 90), width=1)

    @staticmethod
    def _finish(image, finish: frozenset[str], rng) -> Image.Image:
        if "monochrome" in finish:
            image = ImageOps.grayscale(image).convert("RGB")
        elif "sepia" in finish:
            image = ImageOps.colorize(ImageOps.grayscale(image), (40, 26, 12), (250, 230, 196))
        if "soft" in finish:
            image = Image.blend(image.filter(ImageFilter.GaussianBlur(2)), Image.new("RGB", image.size, (246, 240, 230)), 0.2)
        pixels = np.asarray(image).astype(np.float32)
        h, w = pixels.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        vignette = 1 - 0.35 * (((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / 2
        grain = rng.normal(0, 3.0, (h, w, 1))
        return Image.fromarray(np.clip(pixels * vignette[..., None] + grain, 0, 255).astype(np.uint8))
