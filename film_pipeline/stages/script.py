"""script: film.yaml's spec as the document every later stage reads (shots, timing, prompts)."""

import json
from pathlib import Path

from film_pipeline.stages import Rendered
from film_pipeline.timeline import Placement, layout, total_frames


def timeline(spec: dict) -> list[Placement]:
    """Where each shot sits in the cut, from the film spec's durations and transitions."""
    return layout([(s["id"], s["duration"], s["transition"]) for s in spec["shots"]], spec["fps"])


def render(spec: dict, workdir: Path) -> Rendered:
    placements = timeline(spec)
    path = workdir / "script.json"
    path.write_text(json.dumps({"film": spec, "timeline": [p.__dict__ for p in placements]}, indent=1))
    table = "\n".join(f"| {i + 1} | `{s['id']}` | {s['duration']:g}s | {s['camera']} | {s['transition']} | {s['prompt'][:80]} |"
                      for i, s in enumerate(spec["shots"]))
    expanded = "\n".join(f"| `{shot}` | {text} |" for shot, text in spec["expansions"].items())
    return {"script": path}, {
        "expanded_prompts": {"md": "| shot | expanded prompt |\n|---|---|\n" + expanded} if expanded else "none",
        "title": spec["title"], "shots": len(spec["shots"]), "profile": spec["profile"],
        "backend": "film.yaml", "seed": spec["seed"],
        "duration_seconds": round(total_frames(placements) / spec["fps"], 3),
        "shot_list": {"md": "| # | shot | duration | camera | transition | prompt |\n|---|---|---|---|---|---|\n" + table},
    }


def read(path: Path) -> dict:
    """A stored script: `{"film": spec, "timeline": [placement, ...]}`."""
    return json.loads(Path(path).read_text())
