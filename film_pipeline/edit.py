"""Editing: the soundtrack mix and the final cut, plus the pictures people look at (poster, contact sheet).

Both the mix and the cut place shots with `timeline.layout`, so sound and picture line up to
the frame. The cut is composed with moviepy (transitions as written, the title over the opening
shot) and encoded H.264 + AAC.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from film_pipeline.backends import CueRequest
from film_pipeline.film import derived_seed
from film_pipeline.timeline import Placement, total_frames

VOICE_LEAD_IN = 0.15   # seconds after the shot starts before the narrator speaks
DUCK_GAIN = 0.35       # the score's level under the voice
PEAK = 0.89            # about -1 dBFS
TITLE_SECONDS = 3.0


def cue_spans(cues: list[dict], placements: list[Placement], fps: int, film_seed: int) -> list[CueRequest]:
    """Seconds each cue plays: from its start shot (or the previous cue's end) to its end shot
    (or the next cue's explicit start, or the end of the film)."""
    by_id = {p.shot_id: p for p in placements}
    film_end = total_frames(placements) / fps
    spans, previous_end = [], 0.0
    for index, cue in enumerate(cues):
        start = by_id[cue["start"]].start / fps if cue.get("start") else previous_end
        following = next((c for c in cues[index + 1:] if c.get("start")), None)
        end = (by_id[cue["end"]].end / fps if cue.get("end")
               else by_id[following["start"]].start / fps + 1.0 if following else film_end)
        end = min(end, film_end)
        spans.append(CueRequest(cue["id"], cue["prompt"], start, end, derived_seed(film_seed, "cue", cue["id"])))
        previous_end = end
    return spans


def mix(music: np.ndarray, voices: list[tuple[Placement, np.ndarray]], fps: int, rate: int) -> tuple[np.ndarray, list[str]]:
    """Lay each voice at its shot, duck the score under it, keep the peak under -1 dBFS."""
    voice_track = np.zeros(len(music), np.float32)
    warnings = []
    for placement, samples in voices:
        first = int((placement.start / fps + VOICE_LEAD_IN) * rate)
        if first + len(samples) > placement.end * rate / fps:
            warnings.append(f"narration of shot `{placement.shot_id}` runs {len(samples) / rate:.1f}s, "
                            f"past the end of its shot; shorten it or lengthen the shot")
        piece = samples[: max(0, len(voice_track) - first)]
        voice_track[first:first + len(piece)] += piece
    presence = np.convolve(np.abs(voice_track) > 0.01, np.ones(int(0.3 * rate)) / (0.3 * rate), mode="same")
    duck = 1 - (1 - DUCK_GAIN) * np.clip(presence * 4, 0, 1)
    out = music * duck[:, None] + voice_track[:, None]
    peak = float(np.abs(out).max()) if len(out) else 0.0
    return (out * (PEAK / peak) if peak > PEAK else out).astype(np.float32), warnings


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def title_card(title: str, logline: str | None, size: tuple[int, int]) -> Image.Image:
    """The film's title (and logline) as a transparent overlay for the opening shot."""
    width, height = size
    card = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, int(height * 0.36), width, int(height * 0.64)), fill=(0, 0, 0, 110))
    big, small = _font(max(10, height // 9)), _font(max(8, height // 26))
    draw.text((width / 2, height * 0.47), title, font=big, fill=(255, 255, 255, 245), anchor="mm")
    if logline:
        draw.text((width / 2, height * 0.58), logline[:110], font=small, fill=(230, 230, 230, 230), anchor="mm")
    return card


def assemble(clips: list[tuple[Placement, Path]], soundtrack: Path, title: str, logline: str | None,
             fps: int, size: tuple[int, int], out: Path, poster: Path) -> int:
    """Cut the clips together over the soundtrack; write the MP4 and a poster; return the frame count."""
    from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, VideoFileClip, vfx

    frames = total_frames([p for p, _ in clips])
    sources, layers = [], []
    for placement, path in clips:
        clip = VideoFileClip(str(path), audio=False)
        sources.append(clip)
        effects = [effect(count / fps) for count, effect in (
            (placement.fade_in, vfx.FadeIn), (placement.fade_out, vfx.FadeOut),
            (placement.crossfade_in, vfx.CrossFadeIn)) if count]
        clip = clip.with_duration(placement.frames / fps).with_effects(effects)
        layers.append(clip.with_start(placement.start / fps))
    card_seconds = min(TITLE_SECONDS, clips[0][0].frames / fps)
    card = ImageClip(np.asarray(title_card(title, logline, size))).with_duration(card_seconds)
    layers.append(card.with_effects([vfx.CrossFadeIn(card_seconds / 5), vfx.CrossFadeOut(card_seconds / 4)]))
    # moviepy writes int(duration * fps) frames: half a frame over keeps float error from dropping one.
    seconds = (frames + 0.5) / fps
    audio = AudioFileClip(str(soundtrack))
    video = CompositeVideoClip(layers, size=size, bg_color=(0, 0, 0)).with_duration(seconds)
    video = video.with_audio(audio.with_duration(min(audio.duration, seconds)))
    try:
        Image.fromarray(video.get_frame(min(card_seconds * 0.45, seconds))).save(poster)
        video.write_videofile(
            str(out), fps=fps, codec="libx264", audio_codec="aac", audio_fps=48_000, preset="fast",
            ffmpeg_params=["-pix_fmt", "yuv420p", "-crf", "20"], threads=2, logger=None,
            temp_audiofile=str(out.with_name(out.stem + ".audio.m4a")),  # moviepy's default is the cwd
        )
    finally:
        for clip in sources:
            clip.close()
        audio.close()
    return frames


def contact_sheet(images: list[tuple[str, Image.Image]], columns: int = 4, tile_width: int = 240) -> Image.Image:
    """A grid of labelled thumbnails (one per shot, in film order)."""
    if not images:
        return Image.new("RGB", (tile_width, tile_width // 2), (20, 20, 20))
    first = images[0][1]
    tile_height = round(first.height * tile_width / first.width)
    label = max(12, tile_width // 14)
    columns = min(columns, len(images))
    rows = -(-len(images) // columns)
    gap = 6
    sheet = Image.new("RGB", (columns * (tile_width + gap) + gap, rows * (tile_height + label + gap) + gap), (18, 18, 20))
    draw = ImageDraw.Draw(sheet)
    for index, (name, image) in enumerate(images):
        x = gap + (index % columns) * (tile_width + gap)
        y = gap + (index // columns) * (tile_height + label + gap)
        sheet.paste(image.convert("RGB").resize((tile_width, tile_height), Image.Resampling.LANCZOS), (x, y))
        draw.text((x + 2, y + tile_height + 1), f"{index + 1}. {name}", font=_font(label - 3), fill=(225, 225, 225))
    return sheet
