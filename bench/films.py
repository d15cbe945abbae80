"""Generated films for the benchmarks: N shots at a small resolution on the preview profile.

Every shot has its own prompt and camera move; every fourth shot has a line of narration and
a crossfade, so the soundtrack and the cut have real work at every size.
"""

import re
from pathlib import Path

CAMERAS = ("push_in", "pan_right", "pull_out", "pan_left", "static")
PLACES = ("a lighthouse on a cliff", "a harbour town at night", "a forest path in fog", "a desert road at noon",
          "a snowy mountain pass", "a city rooftop in the rain", "a field of sunflowers", "a quiet library")


def shot_id(index: int) -> str:
    return f"s{index:04d}"


def write_film(film_dir: Path, shots: int, *, resolution: tuple[int, int] = (64, 36), fps: int = 12,
               duration: float = 1.0, hard_cuts_only: bool = False, narration: bool = True,
               takes_shot: int | None = None) -> Path:
    """Writes film_dir/film.yaml and returns its path. `takes_shot` gets two takes (pick 1), so that
    `pick_take` can change what the cut shows without changing the script."""
    film_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"title: Generated film of {shots} shots", "style: flat colours", f"fps: {fps}",
             f"resolution: [{resolution[0]}, {resolution[1]}]", "upscale: 2", "seed: 3", "profile: preview",
             "expand: false", "music:", "  - id: theme", "    prompt: gentle hopeful theme, slow, warm strings",
             "shots:"]
    for index in range(shots):
        lines += [f"  - id: {shot_id(index)}",
                  f"    prompt: {PLACES[index % len(PLACES)]}, view number {index}",
                  f"    duration: {duration}",
                  f"    camera: {CAMERAS[index % len(CAMERAS)]}"]
        if narration and index % 4 == 0:
            lines.append(f"    narration: This is moment number {index}.")
        if not hard_cuts_only and index % 4 == 1:
            lines.append("    transition: crossfade")
        if index == takes_shot:
            lines += ["    takes: 2", "    pick: 1"]
    path = film_dir / "film.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def edit_prompt(path: Path, index: int, suffix: str = ", seen again") -> None:
    """Changes one shot's prompt (the `index`-th shot), nothing else; a suffix an earlier edit left
    is replaced (a kept film is edited again on every `--again`)."""
    text = path.read_text()
    old = re.compile(rf"view number {index}(?:, [^\n]*)?\n")
    assert old.search(text), f"shot {index} not in {path}"
    path.write_text(old.sub(f"view number {index}{suffix}\n", text, count=1))


def pick_take(path: Path, take: int) -> None:
    """Picks another take of the `takes_shot` (the script does not list picks: only that shot's clip,
    upscaled clip and the cut change)."""
    text = path.read_text()
    assert "    pick: " in text, f"no shot with takes in {path}"
    path.write_text(text.replace("    pick: 1\n", f"    pick: {take}\n").replace("    pick: 2\n", f"    pick: {take}\n"))
