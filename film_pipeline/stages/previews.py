"""What the UI shows of a take: stills and animated previews of clips, and score tables."""

from pathlib import Path

from PIL import Image

from film_pipeline.media import thumbnail

PREVIEW_WIDTH, PREVIEW_FRAMES = 160, 16


def scores_table(scores: dict[int, dict], best: int) -> str:
    """The takes' scores as a markdown table for the UI, the best one starred."""
    names = [name for name in next(iter(scores.values())) if name != "total"]
    rows = [f"| {'★ ' if take == best else ''}{take} | **{values['total']:.3f}** | "
            + " | ".join(f"{values[name]:.3f}" for name in names) + " |" for take, values in sorted(scores.items())]
    return "\n".join([f"| take | total | {' | '.join(names)} |", "|---" * (len(names) + 2) + "|", *rows])


def take_label(take: int, scores: dict, best: bool) -> str:
    return f"{'★ ' if best else ''}take {take} · {scores['total']:.2f}"


def collect_preview(frames, total: int, fps: int, path: Path):
    """Pass frames through, writing an animated WebP of up to 16 of them at 160 px for the UI."""
    step = max(1, -(-total // PREVIEW_FRAMES))
    kept = []
    for position, frame in enumerate(frames):
        if position % step == 0:
            kept.append(thumbnail(Image.fromarray(frame), PREVIEW_WIDTH))
        yield frame
    if kept:
        kept[0].save(path, save_all=True, append_images=kept[1:], duration=round(1000 * step / fps), loop=0,
                     quality=50, method=4)


def keep_frame(frames, index: int, path: Path):
    """Pass frames through, saving frame `index` as a still for the UI."""
    for position, frame in enumerate(frames):
        if position == index:
            Image.fromarray(frame).save(path)
        yield frame
