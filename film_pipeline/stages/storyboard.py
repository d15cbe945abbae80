"""storyboard: a shot's keyframes, one per take, painted from its prompt and scored; with
`end_prompt`, also the keyframe its clip ends on (`end`).

With a backend that conditions on character references (IP-Adapter), each character in the
shot is drawn from the same stored reference the `characters` stage made.
"""

from pathlib import Path

from film_pipeline import edit
from film_pipeline.backends import CharacterLook, KeyframeRequest
from film_pipeline.scoring import best_take, image_scores, with_adherence
from film_pipeline.stages import Backends, Log, Rendered, device_of, model_id
from film_pipeline.stages.characters import conditions_on_references, reference_image
from film_pipeline.stages.previews import scores_table, take_label
from film_pipeline.store import ArtifactStore


def render(spec: dict, shot: str, backends: Backends, store: ArtifactStore, film: str, workdir: Path,
           log: Log) -> Rendered:
    backend = backends("keyframe", spec["backend"])
    looks = tuple(CharacterLook(c["name"], c["description"], c["seed"]) for c in spec["characters"])
    references = {look.name: reference_image(store, film, backend, spec["backend"], look)
                  for look in looks} if conditions_on_references(backend) else {}
    files, painted, scores = {}, [], {}
    scorer = backends("scorer", spec["scorer"]) if "scorer" in spec else None
    for take in range(1, spec["takes"] + 1):
        request = KeyframeRequest(spec["prompt"], spec["style"], looks, spec["seed"] + take - 1,
                                  tuple(spec["size"]), tuple(references.values()))
        image = backend.paint(request)
        files[f"take{take}"] = workdir / f"take{take}.png"
        image.save(files[f"take{take}"])
        scores[take] = image_scores(image)
        if scorer is not None:
            scores[take] = with_adherence(scores[take], scorer.adherence(image, spec["prompt"]))
        painted.append(image)
        log.info(f"storyboard[{shot}] take {take}/{spec['takes']} painted, score {scores[take]['total']:.3f}")
    if spec.get("end_prompt"):  # the shot's last frame, painted like its first take (same cast, seed and size)
        files["end"] = workdir / "end.png"
        backend.paint(KeyframeRequest(spec["end_prompt"], spec["style"], looks, spec["seed"], tuple(spec["size"]),
                                      tuple(references.values()))).save(files["end"])
        log.info(f"storyboard[{shot}] end keyframe painted")
    best = best_take(scores)
    facts = backend.facts(request) if hasattr(backend, "facts") else {}  # the family's rules as applied
    if spec["takes"] > 1:  # the takes side by side with their scores, the best one starred
        files["takes_sheet"] = workdir / "takes.png"
        edit.contact_sheet([(take_label(t, scores[t], t == best), img) for t, img in enumerate(painted, 1)],
                           columns=4).save(files["takes_sheet"])
    for name, image in references.items():  # what kept each character the same
        files[f"ref-{name}"] = workdir / f"ref-{name}.png"
        image.save(files[f"ref-{name}"])
    return files, {"character_references": ", ".join(references) or "none", "backend": backend.name,
                   "model": model_id(spec["backend"]), "device": device_of(backend), "seed": spec["seed"],
                   "takes": spec["takes"], "best_take": best, "scores": {str(t): v for t, v in scores.items()},
                   "take_scores": {"md": scores_table(scores, best)},
                   "caption": f"{shot} · {spec['prompt']}", "width": spec["size"][0], "height": spec["size"][1],
                   **({"end_prompt": spec["end_prompt"]} if "end_prompt" in spec else {}), **facts}
