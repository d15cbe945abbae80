"""storyboard: a shot's keyframes, one per take, painted from its prompt and scored; with
`end_prompt`, also the keyframe its clip ends on (`end`).

Take k is painted with seed `seed + k - 1`, so it is the same picture whatever `takes` says:
when only `takes` changed, the takes an earlier version of this shot's storyboard painted from
the same prompt, style, cast, seed, size and model are copied from the store (their sha256
checked) and only the new ones are painted. Every take is scored again (cheap; the scorer may be
new: it is used only for two takes or more).

With a backend that conditions on character references (IP-Adapter), each character in the
shot is drawn from the same stored reference the `characters` stage made.
"""

import re
import shutil
from pathlib import Path

from PIL import Image

from film_pipeline.backends import CharacterLook, KeyframeRequest
from film_pipeline.scoring import best_take, image_scores, with_adherence
from film_pipeline.stages import Backends, Log, Rendered, device_of, model_id
from film_pipeline.stages.characters import conditions_on_references, reference_image
from film_pipeline.stages.previews import KEYFRAME_TAKE, scores_table, takes_sheet
from film_pipeline.store import ArtifactStore, IntegrityError, artifact_key
from film_pipeline.versions import artifact_version

MANIFEST = re.compile(r"[0-9a-f]{8,64}\.json")
NOT_PICTURE = ("takes", "scorer")  # spec keys that change which takes there are or how they score, not a picture


def painted_before(store: ArtifactStore, film: str, shot: str, spec: dict) -> tuple[dict[str, dict], str | None]:
    """Stored pictures of this spec, whatever its `takes`: {"take<k>" or "end": stored file} from
    the stored version of the shot's storyboard (made by this code version of the stage) whose
    visual spec differs from `spec` at most in `takes` (and `scorer`), the one with the most takes;
    and that version (None: nothing to reuse)."""
    wanted = {k: v for k, v in spec.items() if k not in NOT_PICTURE}
    found, version, folder = {}, None, f"{film}/storyboard/{shot}/"
    try:
        manifests = sorted(key for key in store.keys(folder) if MANIFEST.fullmatch(key.rsplit("/", 1)[-1]))
    except OSError:
        return {}, None
    for key in manifests:
        try:
            manifest = store.read_json(key)
            spec_version = (manifest.get("specs") or {}).get("visual_spec")
            if not spec_version:
                continue
            earlier = store.read_json(artifact_key(film, "visual_spec", shot, spec_version, "json"))
        except (OSError, ValueError):
            continue
        if {k: v for k, v in earlier.items() if k not in NOT_PICTURE} != wanted:
            continue
        # made by this code version of the stage: a code version bumped on purpose paints again
        if manifest.get("version") != artifact_version("storyboard", [spec_version]):
            continue
        files = {role: stored for role, stored in manifest.get("files", {}).items()
                 if KEYFRAME_TAKE.fullmatch(role) or role == "end"}
        if len(files) > len(found):
            found, version = files, manifest.get("version")
    return found, version


def _copied(store: ArtifactStore, stored: dict | None, path: Path) -> Image.Image | None:
    """A stored picture copied byte for byte to `path` (its sha256 checked), or None if it is gone or damaged."""
    if stored is None:
        return None
    try:
        shutil.copyfile(store.local_path(stored["key"], stored["sha256"]), path)
        image = Image.open(path)
        image.load()
        return image
    except (OSError, IntegrityError, KeyError):
        path.unlink(missing_ok=True)
        return None


def render(spec: dict, shot: str, backends: Backends, store: ArtifactStore, film: str, workdir: Path,
           log: Log, reuse: bool = True) -> Rendered:
    """`reuse=False` paints every take (a forced render)."""
    backend = backends("keyframe", spec["backend"])
    looks = tuple(CharacterLook(c["name"], c["description"], c["seed"]) for c in spec["characters"])
    references = {look.name: reference_image(store, film, backend, spec["backend"], look)
                  for look in looks} if conditions_on_references(backend) else {}
    earlier, earlier_version = painted_before(store, film, shot, spec) if reuse else ({}, None)
    files, painted, scores, reused = {}, [], {}, []
    scorer = backends("scorer", spec["scorer"]) if "scorer" in spec else None
    for take in range(1, spec["takes"] + 1):
        request = KeyframeRequest(spec["prompt"], spec["style"], looks, spec["seed"] + take - 1,
                                  tuple(spec["size"]), tuple(references.values()))
        files[f"take{take}"] = workdir / f"take{take}.png"
        image = _copied(store, earlier.get(f"take{take}"), files[f"take{take}"])
        if image is None:
            image = backend.paint(request)
            image.save(files[f"take{take}"])
        else:
            reused.append(take)
        scores[take] = image_scores(image)
        if scorer is not None:
            scores[take] = with_adherence(scores[take], scorer.adherence(image, spec["prompt"]))
        painted.append(image)
        how = f"reused from version {earlier_version}" if take in reused else "painted"
        log.info(f"storyboard[{shot}] take {take}/{spec['takes']} {how}, score {scores[take]['total']:.3f}")
    if spec.get("end_prompt"):  # the shot's last frame, painted like its first take (same cast, seed and size)
        files["end"] = workdir / "end.png"
        if _copied(store, earlier.get("end"), files["end"]) is None:
            backend.paint(KeyframeRequest(spec["end_prompt"], spec["style"], looks, spec["seed"], tuple(spec["size"]),
                                          tuple(references.values()))).save(files["end"])
            log.info(f"storyboard[{shot}] end keyframe painted")
        else:
            log.info(f"storyboard[{shot}] end keyframe reused from version {earlier_version}")
    best = best_take(scores)
    facts = backend.facts(request) if hasattr(backend, "facts") else {}  # the family's rules as applied
    if spec["takes"] > 1:  # the takes side by side with their scores, the best one starred
        files["takes_sheet"] = workdir / "takes.png"
        takes_sheet([(t, scores[t], img) for t, img in enumerate(painted, 1)], best).save(files["takes_sheet"])
    for name, image in references.items():  # what kept each character the same
        files[f"ref-{name}"] = workdir / f"ref-{name}.png"
        image.save(files[f"ref-{name}"])
    return files, {"character_references": ", ".join(references) or "none", "backend": backend.name,
                   "model": model_id(spec["backend"]), "device": device_of(backend), "seed": spec["seed"],
                   "takes": spec["takes"], "best_take": best, "scores": {str(t): v for t, v in scores.items()},
                   "take_scores": {"md": scores_table(scores, best)},
                   **({"takes_reused": len(reused), "takes_reused_from": earlier_version} if reused else {}),
                   "caption": f"{shot} · {spec['prompt']}", "width": spec["size"][0], "height": spec["size"][1],
                   **({"end_prompt": spec["end_prompt"]} if "end_prompt" in spec else {}), **facts}
