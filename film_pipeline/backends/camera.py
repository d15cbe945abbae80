"""The preview profile's motion stage: a smooth camera move over the keyframe, plus weather.

The keyframe is painted larger than the frame; each frame is a sub-pixel crop of it, eased
in and out, so motion is smooth (no whole-pixel jitter). Words in the motion prompt add rain,
snow, drifting embers or fireflies, a flicker, or a handheld sway. A caption stays in the lower
third so a viewer of the animatic can tell shots apart.

With `scale`, the same shot is drawn at a multiple of its size over a keyframe upscaled as much
(the particles are as many and in the same places, the caption as large relative to the frame):
the delivery size without upscaling each frame.

With an end keyframe (`end_prompt`) the camera travels over both pictures and blends from the
first to the last as it moves, so the last frame is the end keyframe seen through the move's
final framing. A continuing shot starts exactly on the previous shot's last frame.
"""

import re
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from film_pipeline.backends import MotionRequest

# (start, end) of (x travel, y travel, zoom) for each camera: travel 0..1 spans the keyframe's
# margin around the window (0 = left/top edge, 1 = right/bottom edge), so a move never clamps.
MOVES = {
    "static": ((0.5, 0.5, 1.00), (0.5, 0.5, 1.03)),
    "pan_left": ((1.0, 0.5, 1.0), (0.0, 0.5, 1.0)),
    "pan_right": ((0.0, 0.5, 1.0), (1.0, 0.5, 1.0)),
    "tilt_up": ((0.5, 1.0, 1.0), (0.5, 0.0, 1.0)),
    "tilt_down": ((0.5, 0.0, 1.0), (0.5, 1.0, 1.0)),
    "push_in": ((0.5, 0.5, 1.0), (0.5, 0.5, 1.22)),
    "pull_out": ((0.5, 0.5, 1.22), (0.5, 0.5, 1.0)),
}
PARTICLES = {  # word -> (count per 100k px, colour, speed (x, y) in frame heights per second, size)
    "rain": (90, (200, 210, 235, 120), (-0.15, 2.2), 10),
    "snow": (60, (250, 250, 255, 200), (0.05, 0.18), 2),
    "embers": (25, (255, 150, 60, 220), (0.04, -0.25), 2),
    "fireflies": (18, (230, 255, 120, 230), (0.03, -0.05), 2),
    "dust": (30, (240, 226, 200, 110), (0.06, 0.02), 1),
}
SYNONYMS = {"storm": "rain", "downpour": "rain", "snowfall": "snow", "sparks": "embers", "ash": "embers", "motes": "dust"}


# A continuing shot (`continues: true`) starts on the previous shot's last frame and settles into its
# own camera move over this long; its canvas is that frame enlarged as much as a keyframe is.
CONTINUE_SECONDS = 0.5
CANVAS_MARGIN = 1.25


def ease(t: float) -> float:
    return t * t * (3 - 2 * t)


class CameraMove:
    name = "camera-move"
    version = "3"  # 3: the window is resampled by a separable resize (_crop), 4× faster

    def animate(self, keyframe: Image.Image, request: MotionRequest) -> Iterator[np.ndarray]:
        base_width, base_height = request.size
        width, height = base_width * request.scale, base_height * request.scale
        words = set(re.findall(r"[a-z]+", (request.motion or "").lower()))
        words |= {SYNONYMS[w] for w in words if w in SYNONYMS}
        start, end = self._framing(request)
        rng = np.random.default_rng(request.seed)
        layers = [self._particles(rng, kind, base_width, base_height) for kind in PARTICLES if kind in words]
        sway = bool(words & {"handheld", "sway", "shaky", "wind", "windy"})
        flicker = bool(words & {"flicker", "flickering", "lightning", "candle", "candlelight"})
        caption = self._caption(request.caption, width, height)
        first = keyframe.convert("RGB").resize((width, height), Image.Resampling.LANCZOS) if request.continues else None
        if request.continues:  # the previous shot's last frame, enlarged into a painting the camera can move over
            keyframe = first.resize(self._canvas_size(request), Image.Resampling.BICUBIC)
        last = request.end_keyframe.convert("RGB").resize(keyframe.size, Image.Resampling.LANCZOS) \
            if request.end_keyframe is not None else None
        settle = max(1, round(CONTINUE_SECONDS * request.fps))
        for index in range(request.frames):
            t = ease(index / max(1, request.frames - 1))
            u, v, zoom = (a + (b - a) * t for a, b in zip(start, end))
            seconds = index / request.fps
            if sway:  # a handheld drift, kept inside the margin
                u = np.clip(u + 0.04 * np.sin(seconds * 2.1) + 0.02 * np.sin(seconds * 5.3), 0, 1)
                v = np.clip(v + 0.03 * np.sin(seconds * 1.7 + 1), 0, 1)
            frame = self._crop(keyframe, u, v, zoom, width, height)
            if last is not None:  # travel from the first keyframe to the last, blending as the camera moves
                frame = Image.blend(frame, self._crop(last, u, v, zoom, width, height), t)
            draw = ImageDraw.Draw(frame, "RGBA")
            for layer in layers:
                self._draw_particles(draw, layer, seconds, width, height)
            if flicker:
                gain = 0.88 + 0.12 * np.sin(seconds * 17) * np.sin(seconds * 5.1)
                frame = Image.eval(frame, lambda v, g=gain: int(min(255, v * g)))
            frame.paste(caption, (0, 0), caption)
            if first is not None and index < settle:  # start exactly on the previous shot's last frame, caption and all
                frame = Image.blend(first, frame, ease(index / settle))
            yield np.asarray(frame)

    @staticmethod
    def _canvas_size(request: MotionRequest) -> tuple[int, int]:
        if request.end_keyframe is not None:
            return request.end_keyframe.size
        width, height = (side * request.scale for side in request.size)
        return 2 * round(width * CANVAS_MARGIN / 2), 2 * round(height * CANVAS_MARGIN / 2)

    @staticmethod
    def _framing(request: MotionRequest) -> tuple[tuple, tuple]:
        """The move's start and end framing; a later take is another operator's take of it: the
        window placed and zoomed a little differently (take 1 is the move as written)."""
        start, end = MOVES[request.camera]
        if request.take == 1:
            return start, end
        rng = np.random.default_rng([request.seed, request.take])
        du, dv = rng.uniform(-0.2, 0.2, 2)
        dzoom = rng.uniform(0.0, 0.06)

        def vary(point):
            u, v, zoom = point
            return float(np.clip(u + du, 0, 1)), float(np.clip(v + dv, 0, 1)), zoom + dzoom
        return vary(start), vary(end)

    @staticmethod
    def _crop(keyframe: Image.Image, u, v, zoom, width, height) -> Image.Image:
        """The frame seen through a window at travel (u, v) and `zoom`, resampled sub-pixel."""
        # At zoom 1 the window keeps the frame's aspect and fills 1/1.12 of the keyframe's tighter side.
        scale = min(keyframe.width / width, keyframe.height / height) / 1.12 / zoom
        win_w, win_h = width * scale, height * scale
        x0, y0 = u * (keyframe.width - win_w), v * (keyframe.height - win_h)
        box = (x0, y0, min(x0 + win_w, keyframe.width), min(y0 + win_h, keyframe.height))
        # Version 3: a separable bicubic resize of the window (version 2 sampled the same window with
        # an affine transform, about 4× slower at the delivery size; PSNR between the two on the demo's
        # shots: bench/camera_sampling.py). Shrinking a window, it also filters out aliasing.
        frame = keyframe.resize((width, height), Image.Resampling.BICUBIC, box=box)
        return frame if frame.mode == "RGB" else frame.convert("RGB")

    @staticmethod
    def _particles(rng, kind, width, height):
        density, colour, speed, size = PARTICLES[kind]
        count = max(4, int(density * width * height / 100_000))
        return {"xy": rng.uniform(0, 1, (count, 2)), "phase": rng.uniform(0, 6.28, count),
                "colour": colour, "speed": speed, "size": size, "streak": kind == "rain"}

    @staticmethod
    def _draw_particles(draw, layer, seconds, width, height):
        vx, vy = layer["speed"]
        xs = (layer["xy"][:, 0] + vx * seconds * height / width + 0.01 * np.sin(seconds + layer["phase"])) % 1
        ys = (layer["xy"][:, 1] + vy * seconds) % 1
        size = layer["size"] * height / 288
        for x, y in zip(xs * width, ys * height):
            if layer["streak"]:
                draw.line((x, y, x + vx * size, y + size), fill=layer["colour"], width=1)
            else:
                draw.ellipse((x - size / 2, y - size / 2, x + size / 2, y + size / 2), fill=layer["colour"])

    @staticmethod
    def _caption(text: str, width: int, height: int) -> Image.Image:
        band = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        size = max(8, height // 22)
        font = ImageFont.load_default(size=size)
        draw = ImageDraw.Draw(band)
        chars = max(10, int(width / (size * 0.55)))
        line = text if len(text) <= chars else text[: chars - 1] + "…"
        top = height - int(size * 1.9)
        draw.rectangle((0, top, width, height), fill=(0, 0, 0, 120))
        draw.text((size * 0.6, top + size * 0.4), line, font=font, fill=(255, 255, 255, 235))
        return band
