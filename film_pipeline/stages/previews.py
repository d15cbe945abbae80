"""What the UI shows of a take: stills and animated previews of clips, score tables, and the
takes side by side with the best one starred."""

import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from film_pipeline.media import thumbnail

PREVIEW_WIDTH, PREVIEW_FRAMES = 160, 16
STAR_COLOUR = (255, 196, 40)
# file roles in a manifest: a storyboard's keyframe takes, and the animated preview of a clip take not chosen
KEYFRAME_TAKE = re.compile(r"take([1-9][0-9]*)")
CLIP_TAKE_PREVIEW = re.compile(r"preview_take([1-9][0-9]*)")


def scores_table(scores: dict[int, dict], best: int) -> str:
    """The takes' scores as a markdown table for the UI, the best one starred."""
    names = [name for name in next(iter(scores.values())) if name != "total"]
    rows = [f"| {'★ ' if take == best else ''}{take} | **{values['total']:.3f}** | "
            + " | ".join(f"{values[name]:.3f}" for name in names) + " |" for take, values in sorted(scores.items())]
    return "\n".join([f"| take | total | {' | '.join(names)} |", "|---" * (len(names) + 2) + "|", *rows])


def take_label(take: int, scores: dict, best: bool) -> str:
    """A take's label as text (markdown, HTML): the browser's fonts have the ★."""
    return f"{'★ ' if best else ''}take {take} · {scores['total']:.2f}"


def take_note(what: str, scores: dict | None, take: int, best: int | None) -> str:
    """`**take 2** · 0.431 ★ best`: a take's caption in markdown, from a manifest's scores (keys are strings)."""
    total = (scores or {}).get(str(take), {}).get("total")
    return f"**{what}**" + (f" · {total:.3f}" if total is not None else "") + (" ★ best" if take == best else "")


def star(draw: ImageDraw.ImageDraw, centre: tuple[float, float], radius: float, fill=STAR_COLOUR) -> None:
    """A five-pointed star, drawn: PIL's default font has no ★ glyph (it draws a missing-glyph box)."""
    x, y = centre
    points = [(x + (radius if i % 2 == 0 else radius * 0.42) * math.sin(i * math.pi / 5),
               y - (radius if i % 2 == 0 else radius * 0.42) * math.cos(i * math.pi / 5)) for i in range(10)]
    draw.polygon(points, fill=fill)


def takes_sheet(takes: list[tuple[int, dict, Image.Image]], best: int, columns: int = 4,
                tile_width: int = 240) -> Image.Image:
    """The takes side by side, each labelled `take N · score`, the best one with a drawn star."""
    first = takes[0][2]
    tile_height = round(first.height * tile_width / first.width)
    label = max(12, tile_width // 14)
    columns = min(columns, len(takes))
    rows = -(-len(takes) // columns)
    gap = 6
    sheet = Image.new("RGB", (columns * (tile_width + gap) + gap, rows * (tile_height + label + gap) + gap),
                      (18, 18, 20))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=label - 3)
    for index, (take, scores, image) in enumerate(takes):
        x = gap + (index % columns) * (tile_width + gap)
        y = gap + (index // columns) * (tile_height + label + gap)
        sheet.paste(image.convert("RGB").resize((tile_width, tile_height), Image.Resampling.LANCZOS), (x, y))
        text_x = x + 2
        if take == best:
            star(draw, (x + 2 + label / 2, y + tile_height + label / 2), label / 2 - 1)
            text_x += label + 2
        draw.text((text_x, y + tile_height + 1), take_label(take, scores, False), font=font, fill=(225, 225, 225))
    return sheet


class ClipGlimpse:
    """What the UI shows of a clip take, gathered from its frames as they pass once: an animated
    WebP of up to 16 of them at 160 px, the frame at `still_at` (a still), and the frame count."""

    def __init__(self, total: int, fps: int, still_at: int):
        self.step, self.fps, self.still_at = max(1, -(-total // PREVIEW_FRAMES)), fps, still_at
        self.kept: list[Image.Image] = []
        self.still: np.ndarray | None = None
        self.frames = 0

    def passing(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """The frames, unchanged, seen on their way."""
        for position, frame in enumerate(frames):
            if position % self.step == 0:
                self.kept.append(thumbnail(Image.fromarray(frame), PREVIEW_WIDTH))
            if position == self.still_at:
                self.still = frame
            self.frames += 1
            yield frame

    def save_preview(self, path: Path) -> None:
        if self.kept:
            self.kept[0].save(path, save_all=True, append_images=self.kept[1:], duration=round(1000 * self.step / self.fps),
                              loop=0, quality=50, method=4)

    def save_still(self, path: Path) -> None:
        if self.still is not None:
            Image.fromarray(self.still).save(path)
