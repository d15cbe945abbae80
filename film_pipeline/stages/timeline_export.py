"""timeline_export: the cut as an editor's timeline, in OpenTimelineIO, CMX 3600 EDL, FCP 7 XML and
Kdenlive (film_pipeline.exports), every clip referring to the stored files the cut is made of.

The media references are the files as the machine that renders has them (`store.local_path`: the
store's own files, or for an S3 store its local cache); `film export` writes them for the machine
it runs on.

`render_ahead` starts an export in a thread, for the step that follows in the same process: the
final cut's step starts it before its final mux, so that the export's Python runs on one core
while ffmpeg muxes on the other. `render` takes what it made only for an equal Cut, so the files
are the ones `render` itself would write.
"""

import atexit
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from film_pipeline import exports
from film_pipeline.edit import title_frames, voice_start
from film_pipeline.media import SAMPLE_RATE, audio_frames
from film_pipeline.stages import Rendered
from film_pipeline.timeline import Placement


def cut_of(script: dict, clips: list[tuple[exports.Media, str]], voices: list[exports.Media | None],
           score: exports.Media, title: exports.Media | None, size: tuple[int, int]) -> exports.Cut:
    """The export's view of the cut: `clips` each shot's (upscaled clip, its version) and `voices`
    its voice-over (None where it has none), in the script's order."""
    film = script["film"]
    placements = [Placement(**p) for p in script["timeline"]]
    fps = film["fps"]
    shots, starts = [], {}
    for placement, spec, (video, version), voice in zip(placements, film["shots"], clips, voices):
        samples = audio_frames(voice.path) if voice is not None else 0
        starts[placement.shot_id] = voice_start(placement, fps, SAMPLE_RATE)
        shots.append(exports.Shot(placement, spec["prompt"], version, video, voice if samples else None, samples,
                                  spec.get("narration") or ""))
    return exports.Cut(film["title"], fps, size, shots, score, title, title_frames(placements, fps) if title else 0,
                       SAMPLE_RATE, starts)


_ahead: list[Future] = []  # the export render_ahead started and no render has taken yet (at most one)


def render_ahead(cut_of_film: Callable[[], exports.Cut]) -> None:
    """Build the Cut `cut_of_film` returns and render its export in a thread, in a folder of its own."""
    _drop_ahead()
    future: Future = Future()
    _ahead.append(future)
    # a daemon thread: a render stopped with Ctrl-C exits at once instead of waiting for the export
    threading.Thread(target=_render_into, args=(future, cut_of_film), name="film-export-ahead", daemon=True).start()


def _render_into(future: Future, cut_of_film: Callable[[], exports.Cut]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="timeline_export-ahead-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # one never taken leaves nothing behind
    try:
        cut = cut_of_film()
        future.set_result((cut, folder, _render(cut, folder)))
    except BaseException as error:  # noqa: BLE001 - the step renders it itself, and fails there if it must
        shutil.rmtree(folder, ignore_errors=True)
        future.set_exception(error)


def _drop_ahead() -> None:
    for future in _ahead:
        try:
            shutil.rmtree(future.result()[1], ignore_errors=True)
        except Exception:  # noqa: BLE001 - it failed: nothing of it is left
            pass
    _ahead.clear()


def _taken_ahead(cut: exports.Cut, workdir: Path) -> Rendered | None:
    """What render_ahead made, moved into `workdir`, if it was made of an equal Cut."""
    if not _ahead:
        return None
    try:
        made_of, folder, (files, info) = _ahead[0].result()
    except Exception:  # noqa: BLE001 - rendered again here, where its error (if any) is the step's
        made_of = None
    if made_of != cut:
        _drop_ahead()
        return None
    _ahead.clear()
    moved = {fmt: Path(shutil.move(path, workdir / path.name)) for fmt, path in files.items()}
    shutil.rmtree(folder, ignore_errors=True)
    return moved, info


def render(cut: exports.Cut, workdir: Path) -> Rendered:
    """The export of `cut` in `workdir`: the one render_ahead made of an equal Cut, or made now."""
    return _taken_ahead(cut, workdir) or _render(cut, workdir)


def _render(cut: exports.Cut, workdir: Path) -> Rendered:
    timeline = exports.build_timeline(cut)
    formats = exports.formats_for(cut.fps)
    files = {fmt: exports.write(timeline, fmt, workdir / f"timeline{exports.FORMATS[fmt][0]}") for fmt in formats}
    return files, {
        "frames": cut.frames, "fps": cut.fps, "duration_seconds": round(cut.frames / cut.fps, 3),
        "shots": len(cut.shots), "voice_overs": sum(1 for s in cut.shots if s.voice is not None),
        "tracks": exports.summary(timeline), "formats": ", ".join(formats),
        **({} if len(formats) == len(exports.FORMATS) else
           {"not_written": f"EDL and FCP 7 XML need a SMPTE timecode rate (24, 25, 30, 48, 50, 60 fps), not {cut.fps}"}),
        "backend": "opentimelineio + otio-cmx3600-adapter + otio-fcp-adapter; Kdenlive: film_pipeline.exports.kdenlive",
        "seed": 0}
