"""`film new FILM_DIR` with no screenplay and no logline: a commented film.yaml that renders as it
stands, to be filled in by hand (every field it shows is explained beside it)."""

import io

from ruamel.yaml import YAML

from film_pipeline.writers_room.film_yaml import clean_text

TEMPLATE = """\
# A new film: {title}. Edit it, then render it:   film render {where}
# Every field is explained in the README's "film.yaml" section; data/films/demo/film.yaml uses them all.
# Or start from a screenplay (film new DIR --from SCRIPT.fountain) or a logline (film new DIR --logline "...").
title: {title_yaml}                # shown over the opening shot
logline: One sentence that tells the story.
style: painterly, soft morning light    # added to every picture's prompt
fps: 24
resolution: [512, 288]   # render size (even numbers); the final cut is resolution x upscale
upscale: 2               # 1..4
seed: {seed}                # another seed paints other pictures from the same words
profile: {profile}         # models: preview (CPU, nothing to download), tiny, full (GPU checkpoints)

# the cast: described once, drawn alike in every shot that names them
characters:
  hero:
    description: a young woman in a yellow raincoat
    seed: 11

# the score: each cue plays from its `start` shot to the end of its `end` shot
music:
  - id: theme
    prompt: gentle hopeful theme, slow warm strings

# the shots, in order; edit one and only that shot (and the cut) renders again
shots:
  - id: opening          # [a-z0-9][a-z0-9_-]{{0,63}}, unique
    prompt: a harbour town at dawn, fishing boats, mist over the water
    duration: 3          # seconds, up to 60
    camera: push_in      # static pan_left pan_right tilt_up tilt_down push_in pull_out
    motion: dust in the morning light   # preview knows rain, snow, embers, fireflies, dust, flicker, handheld
    narration: Every morning, the town woke before the sun.
    voice: narrator      # the profile's voice
    transition: crossfade   # into the next shot: cut, crossfade, fade
  - id: pier
    prompt: hero walks along the wooden pier, the grey sea behind her
    characters: [hero]
    duration: 3
    camera: pan_right
    narration: And every morning, she was already there.
    voice: narrator
    transition: cut
  - id: lighthouse
    prompt: the lighthouse at the end of the pier in full sunlight
    duration: 3
    camera: pull_out
    transition: fade
"""


def template_yaml(title: str, where: str, profile: str = "preview", seed: int = 7) -> str:
    """The template's text for a film called `title` in directory `where`."""
    yaml = YAML()
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump({"title": clean_text(title) or "Untitled"}, out)
    title_yaml = out.getvalue().split(":", 1)[1].strip()
    return TEMPLATE.format(title=clean_text(title) or "Untitled", title_yaml=title_yaml, where=clean_text(where) or ".",
                           profile=profile, seed=seed)
