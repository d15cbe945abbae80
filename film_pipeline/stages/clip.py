"""clip: the picked keyframe animated for the shot's duration, one clip per clip take; towards the
shot's end keyframe when it has one, and from the previous shot's last frame when it `continues`.

Each clip take has an animated preview: `preview` is the chosen take's, `preview_take<N>` the
others' (beside their videos, `clip_take<N>`)."""

from pathlib import Path

from PIL import Image

from film_pipeline.backends import MotionRequest
from film_pipeline.media import read_video, write_video
from film_pipeline.scoring import best_take, clip_scores
from film_pipeline.stages import Backends, Log, Rendered, device_of, model_id
from film_pipeline.stages.previews import ClipGlimpse, scores_table


def picked_take(spec: dict, board: dict, shot: str) -> int:
    """The keyframe take the clip starts from: `pick`, or the storyboard's best-scoring take."""
    pick = board["info"].get("best_take", 1) if spec["pick"] == "best" else spec["pick"]
    if f"take{pick}" not in board["files"]:
        raise ValueError(f"shot `{shot}` picks take {pick} but its storyboard has {board['info']['takes']}; "
                        f"lower `pick` or raise `takes` in film.yaml")
    return pick


def last_frame(video: Path) -> Image.Image:
    """A clip's last frame: where the shot that `continues` from it starts."""
    frame = None
    for frame in read_video(video):
        pass
    if frame is None:
        raise ValueError(f"{video} has no frames to continue from")
    return Image.fromarray(frame)


def render(spec: dict, board_info: dict, pick: int, keyframe: Path, keyframe_key: str, shot: str, backends: Backends,
           workdir: Path, log: Log, end_keyframe: Path | None = None, previous_clip: Path | None = None) -> Rendered:
    """`board_info` is the storyboard's facts (caption, seed); `keyframe` the picked take's image,
    stored under `keyframe_key` (the cut's contact sheet finds it there). With `end_keyframe` the
    clip ends on that picture; with `previous_clip` (`continues`) it starts on that clip's last frame."""
    backend = backends("motion", spec["backend"])
    image = last_frame(previous_clip) if previous_clip else Image.open(keyframe).convert("RGB")
    end = Image.open(end_keyframe).convert("RGB") if end_keyframe else None
    takes, scores, glimpses = {}, {}, {}
    for clip_take in range(1, spec.get("clip_takes", 1) + 1):
        request = MotionRequest(spec["camera"], spec["motion"], spec["frames"], spec["fps"], tuple(spec["size"]),
                                board_info["caption"], board_info["seed"] + clip_take - 1, clip_take,
                                end_keyframe=end, continues=previous_clip is not None)
        takes[clip_take] = workdir / f"clip{clip_take}.mp4"
        write_video(takes[clip_take], backend.animate(image, request), spec["fps"], tuple(spec["size"]))
        # the take's file decoded once: its scores, its preview and its still come from the same frames
        glimpses[clip_take] = ClipGlimpse(spec["frames"], spec["fps"], spec["frames"] // 2)
        scores[clip_take] = clip_scores(glimpses[clip_take].passing(read_video(takes[clip_take])))
        log.info(f"clip[{shot}] take {clip_take}: score {scores[clip_take]['total']:.3f}")
    facts = backend.facts(request) if hasattr(backend, "facts") else {}
    best = best_take(scores)
    chosen = best if spec.get("clip_pick", "best") == "best" else spec["clip_pick"]
    path, still, preview = takes[chosen], workdir / "frame.png", workdir / "preview.webp"
    glimpses[chosen].save_still(still)
    glimpses[chosen].save_preview(preview)
    count = glimpses[chosen].frames
    files = {"video": path, "frame": still, "preview": preview}
    for take, other in takes.items():  # every take not chosen, and its own animated preview
        if take != chosen:
            files[f"clip_take{take}"] = other
            files[f"preview_take{take}"] = workdir / f"preview{take}.webp"
            glimpses[take].save_preview(files[f"preview_take{take}"])
    return files, {"backend": backend.name, "model": model_id(spec["backend"]), "device": device_of(backend),
                   "frames": count, "fps": spec["fps"], "expected_frames": spec["frames"],
                   "duration_seconds": round(count / spec["fps"], 3), "camera": spec["camera"],
                   "pick": pick, "keyframe": keyframe_key, "seed": board_info["seed"],
                   "clip_takes": len(takes), "clip_take": chosen, "clip_best": best,
                   "clip_scores": {str(t): v for t, v in scores.items()},
                   "take_scores": {"md": scores_table(scores, best)},
                   **({"ends_on": "end keyframe"} if end else {}),
                   **({"continues_from": spec["continues"]} if previous_clip else {}), **facts}
