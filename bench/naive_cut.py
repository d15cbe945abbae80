"""The naive final cut, for comparison: every frame composed in moviepy and re-encoded.

This was film_pipeline's own cut until the stream-copying `edit.assemble` replaced it; it stays
here as the "naive moviepy re-encode" of bench/results.py's cut benchmark.
"""

from pathlib import Path

import numpy as np

from film_pipeline.edit import TITLE_SECONDS, title_card
from film_pipeline.timeline import Placement, total_frames


def naive_moviepy_cut(clips: list[tuple[Placement, Path]], soundtrack: Path, title: str, logline: str | None,
                      fps: int, size: tuple[int, int], out: Path) -> int:
    from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, VideoFileClip, vfx

    frames = total_frames([p for p, _ in clips])
    sources, layers = [], []
    for placement, path in clips:
        clip = VideoFileClip(str(path), audio=False)
        sources.append(clip)
        effects = [effect(count / fps) for count, effect in (
            (placement.fade_in, vfx.FadeIn), (placement.fade_out, vfx.FadeOut),
            (placement.crossfade_in, vfx.CrossFadeIn)) if count]
        layers.append(clip.with_duration(placement.frames / fps).with_effects(effects).with_start(placement.start / fps))
    card_seconds = min(TITLE_SECONDS, clips[0][0].frames / fps)
    card = ImageClip(np.asarray(title_card(title, logline, size))).with_duration(card_seconds)
    layers.append(card.with_effects([vfx.CrossFadeIn(card_seconds / 5), vfx.CrossFadeOut(card_seconds / 4)]))
    seconds = (frames + 0.5) / fps  # moviepy writes int(duration * fps) frames
    audio = AudioFileClip(str(soundtrack))
    video = CompositeVideoClip(layers, size=size, bg_color=(0, 0, 0)).with_duration(seconds)
    video = video.with_audio(audio.with_duration(min(audio.duration, seconds)))
    try:
        video.write_videofile(str(out), fps=fps, codec="libx264", audio_codec="aac", audio_fps=48_000, preset="fast",
                              ffmpeg_params=["-pix_fmt", "yuv420p", "-crf", "20"], threads=2, logger=None,
                              temp_audiofile=str(out.with_name(out.stem + ".audio.m4a")))
    finally:
        for clip in sources:
            clip.close()
        audio.close()
    return frames
