"""final_cut: every shot cut together over the soundtrack, with a poster and a contact sheet.

Hard cuts are stream-copied and only titles, fades and crossfades are composed (edit.assemble).
"""

from pathlib import Path

from PIL import Image

from film_pipeline import edit
from film_pipeline.stages import Rendered
from film_pipeline.timeline import Placement, total_frames


def render(script: dict, clips: list[Path], size: tuple[int, int], soundtrack: Path,
           keyframes: list[tuple[str, Path]], workdir: Path) -> Rendered:
    """`script` is the stored script (film spec and timeline); `clips` the upscaled clips in its
    order, at `size`; `keyframes` each shot's keyframe for the contact sheet."""
    film = script["film"]
    placements = [Placement(**p) for p in script["timeline"]]  # the script's own timing
    out, poster, sheet = workdir / "final_cut.mp4", workdir / "poster.png", workdir / "contact_sheet.png"
    frames = edit.assemble(list(zip(placements, clips)), soundtrack, film["title"], film.get("logline"), film["fps"],
                           size, out, poster)
    edit.contact_sheet([(shot, Image.open(path)) for shot, path in keyframes]).save(sheet)
    return {"video": out, "poster": poster, "contact_sheet": sheet}, {
        "frames": frames, "fps": film["fps"], "duration_seconds": round(frames / film["fps"], 3),
        "expected_frames": total_frames(placements),
        "width": size[0], "height": size[1], "shots": len(clips), "title": film["title"],
        "backend": "ffmpeg concat (stream copy) + libx264/aac", "seed": film["seed"]}
