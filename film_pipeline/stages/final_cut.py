"""final_cut: every shot cut together over the mastered soundtrack, with its subtitles, a poster and a
contact sheet (of at most 100 shots, evenly spread).

Hard cuts are stream-copied and only titles, fades and crossfades are composed (edit.assemble).
The mix is mastered to the film's `delivery:` loudness (default -14 LUFS integrated, true peak at
most -1 dBTP) and encoded to AAC-LC 48 kHz; the subtitles (unless `subtitles: false`) sit beside
the MP4 as SRT and WebVTT and inside it as a soft mov_text track in the film's `language`.
"""

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from film_pipeline import edit
from film_pipeline.film import LATER_FILM_FIELDS, Delivery
from film_pipeline.home import file_identity, keep_in_cache
from film_pipeline.stages import Rendered
from film_pipeline.stages.subtitles import read_cues
from film_pipeline.timeline import Placement, total_frames


def delivery_of(film: dict) -> Delivery:
    """The loudness target the film spec names (its default where the writer named none)."""
    return Delivery(**film.get("delivery", LATER_FILM_FIELDS["delivery"]))


SHEET_SHOTS = 100  # a longer film's contact sheet shows this many shots, evenly spread


def sheet_shots(count: int) -> list[int]:
    """The shots (by index) the contact sheet shows: all of them up to SHEET_SHOTS, else evenly
    spread from the first to the last (every shot of a feature is a picture 67,000 pixels tall)."""
    if count <= SHEET_SHOTS:
        return list(range(count))
    return [round(i * (count - 1) / (SHEET_SHOTS - 1)) for i in range(SHEET_SHOTS)]


# Bump when the contact sheet's drawing or encoding changes: a kept sheet is then drawn again.
SHEET_CODE_VERSION = "1"


def write_contact_sheet(keyframes: list[tuple[str, Path]], out: Path, cache: Path | None = None) -> None:
    """The contact sheet of `keyframes` (each shot's name and keyframe, in film order); with
    `cache`, kept there by what it shows (each shown shot's place, name and keyframe file) and
    copied from there after: an edit whose shot the sheet does not show draws nothing."""
    shown = sheet_shots(len(keyframes))
    key = hashlib.sha256(f"{SHEET_CODE_VERSION}:{len(keyframes)}".encode())
    for index in shown:
        name, path = keyframes[index]
        key.update(f"|{index}:{name}:{file_identity(path)}".encode())
    kept = cache / f"sheet-{key.hexdigest()[:32]}.png" if cache is not None else None
    if kept is not None and kept.exists():
        shutil.copyfile(kept, out)
        return
    # zlib's fastest level: a 100-shot sheet (990×3881) takes 0.3 s instead of 1.5 s, and is 17 % larger
    edit.contact_sheet([(keyframes[i][0], Image.open(keyframes[i][1])) for i in shown],
                       numbers=[i + 1 for i in shown]).save(out, compress_level=1)
    if kept is not None:
        keep_in_cache(out, kept)


def render(script: dict, clips: list[Path], size: tuple[int, int], soundtrack: Path,
           keyframes: list[tuple[str, Path]], workdir: Path, subtitles: dict[str, Path] | None = None,
           title_overlay: bool = False, segment_cache: Path | None = None,
           soundtrack_sha256: str | None = None, clip_sha256: list[str] | None = None,
           beside_the_mux: Callable[[Path], None] | None = None) -> Rendered:
    """`script` is the stored script (film spec and timeline); `clips` the upscaled clips in its
    order, at `size`; `keyframes` each shot's keyframe for the contact sheet; `subtitles` the
    subtitles asset's files ({"subtitles": SRT, "captions": WebVTT}), left out where the film
    says `subtitles: false`. With `title_overlay`, the title as a clip with alpha (the timeline
    exports lay it over the opening shot) comes too. `segment_cache` keeps composed segments, the
    mastered soundtrack, the title overlay and the contact sheet between cuts (an edit makes only
    what it touched); `soundtrack_sha256` is the soundtrack's and `clip_sha256` the clips' (in
    order), where the caller checked them. `beside_the_mux` is called with the title overlay once it
    is written, before the cut is joined: work that can run beside ffmpeg starts there."""
    film = script["film"]
    placements = [Placement(**p) for p in script["timeline"]]  # the script's own timing
    out, poster, sheet = workdir / "final_cut.mp4", workdir / "poster.png", workdir / "contact_sheet.png"
    language = film.get("language", LATER_FILM_FIELDS["language"])
    carried = subtitles if subtitles is not None and film.get("subtitles", LATER_FILM_FIELDS["subtitles"]) else None
    spoken = bool(carried) and bool(read_cues(carried["subtitles"]))  # an empty track is no track
    files = {"video": out, "poster": poster, "contact_sheet": sheet}
    if title_overlay:
        files["title"] = workdir / "title.mov"
        card = edit.title_card(film["title"], film.get("logline"), size)
        edit.write_title_overlay(card, edit.title_frames(placements, film["fps"]), film["fps"], size, files["title"],
                                 segment_cache)
        if beside_the_mux is not None:
            beside_the_mux(files["title"])
    mastering: dict = {}
    frames = edit.assemble(list(zip(placements, clips)), soundtrack, film["title"], film.get("logline"), film["fps"],
                           size, out, poster, delivery=delivery_of(film),
                           subtitles=carried["subtitles"] if spoken else None, language=language, report=mastering,
                           cache=segment_cache, soundtrack_sha256=soundtrack_sha256,
                           clip_sha256=dict(zip(clips, clip_sha256)) if clip_sha256 else None)
    write_contact_sheet(keyframes, sheet, segment_cache)
    if carried:  # beside the cut, under the cut's version: <version>.subtitles.srt, <version>.captions.vtt
        for role, suffix in (("subtitles", ".srt"), ("captions", ".vtt")):
            files[role] = shutil.copyfile(carried[role], workdir / f"final_cut{suffix}")
    return files, {
        "frames": frames, "fps": film["fps"], "duration_seconds": round(frames / film["fps"], 3),
        "expected_frames": total_frames(placements),
        "width": size[0], "height": size[1], "shots": len(clips), "title": film["title"],
        "subtitle_track": language if spoken else "none", **mastering,
        "backend": "ffmpeg concat (stream copy) + libx264/aac, ebur128-metered gain", "seed": film["seed"]}
