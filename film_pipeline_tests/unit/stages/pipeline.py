"""A `Pipeline` that runs the stages one after another the way `defs/assets.py` calls them,
without Dagster, over a film's specs under the `preview` profile.

Specs go through JSON on their way to a stage (as they do when the spec sources save them and a
step reads them back), so a stage sees lists where the dataclasses hold tuples.
"""

import json
import logging
from pathlib import Path

from film_pipeline.backends import backend_for
from film_pipeline.expansion import expand_film
from film_pipeline.film import Film
from film_pipeline.specs import SHOT_SPECS, character_spec, film_spec, score_spec
from film_pipeline.stages import characters, clip, script, soundtrack, storyboard, upscaled_clip, voiceover
from film_pipeline.store import LocalStore

PROFILE = "preview"
LOGGER = "film_pipeline_tests.stages"


def stored(spec: dict) -> dict:
    """A spec as a stage receives it: saved as JSON and read back."""
    return json.loads(json.dumps(spec))


class Pipeline:
    """One film's stages run in order, each in a fresh work directory, results kept per shot.

    Each method mirrors its Dagster body in `defs/assets.py`: the same spec, the same upstream
    facts and files, the same arguments to the stage.
    """

    def __init__(self, film: Film, store: LocalStore, root: Path, log: logging.Logger, backends=backend_for):
        self.film, self.store, self.root, self.log, self.backends = film, store, root, log, backends
        self.made: dict[tuple[str, str | None], tuple[dict, dict]] = {}

    # ---- specs -----------------------------------------------------------------------------------

    def spec(self, name: str, shot: str | None = None) -> dict:
        if name == "film_spec":
            expansions = expand_film(self.film, PROFILE, self.store)[1]  # as the film_spec source adds them
            return stored({**film_spec(self.film, PROFILE), "expansions": expansions})
        if name == "score_spec":
            return stored(score_spec(self.film, PROFILE))
        if name == "character_spec":
            return stored(character_spec(self.film, PROFILE))
        return stored(SHOT_SPECS[name](self.film, self.film.shot(shot), PROFILE))

    def workdir(self, stage: str, shot: str | None = None) -> Path:
        path = self.root / "work" / f"{stage}-{shot or '_'}"
        for number in range(2, 100):  # a stage run twice gets a second directory
            if not path.exists():
                break
            path = self.root / "work" / f"{stage}-{shot or '_'}-{number}"
        path.mkdir(parents=True)
        return path

    def _keep(self, stage: str, shot: str | None, made: tuple[dict, dict]) -> tuple[dict, dict]:
        self.made[(stage, shot)] = made
        return made

    # ---- the stages --------------------------------------------------------------------------------

    def script(self) -> tuple[dict, dict]:
        return self._keep("script", None, script.render(self.spec("film_spec"), self.workdir("script")))

    def characters(self) -> tuple[dict, dict]:
        return self._keep("characters", None, characters.render(
            self.spec("character_spec"), self.backends, self.store, self.film.slug, self.workdir("characters")))

    def storyboard(self, shot: str) -> tuple[dict, dict]:
        return self._keep("storyboard", shot, storyboard.render(
            self.spec("visual_spec", shot), shot, self.backends, self.store, self.film.slug,
            self.workdir("storyboard", shot), self.log))

    def clip(self, shot: str) -> tuple[dict, dict]:
        files, info = self.made.get(("storyboard", shot)) or self.storyboard(shot)
        board = {"files": files, "info": info}
        spec = self.spec("motion_spec", shot)
        pick = clip.picked_take(spec, board, shot)
        keyframe = files[f"take{pick}"]
        return self._keep("clip", shot, clip.render(spec, info, pick, keyframe, str(keyframe), shot, self.backends,
                                                    self.workdir("clip", shot), self.log))

    def upscaled_clip(self, shot: str) -> tuple[dict, dict]:
        files, info = self.made.get(("clip", shot)) or self.clip(shot)
        return self._keep("upscaled_clip", shot, upscaled_clip.render(
            self.spec("upscale_spec", shot), info, files["video"], self.backends, self.workdir("upscaled_clip", shot)))

    def voiceover(self, shot: str) -> tuple[dict, dict]:
        return self._keep("voiceover", shot, voiceover.render(
            self.spec("narration_spec", shot), shot, self.backends, self.workdir("voiceover", shot), self.log))

    def soundtrack(self, voices: list[Path] | None = None) -> tuple[dict, dict]:
        """`voices` default to each shot's voiceover, rendered by the voiceover stage."""
        spec = self.spec("score_spec")
        if voices is None:
            voices = [(self.made.get(("voiceover", shot)) or self.voiceover(shot))[0]["audio"]
                      for shot, _, _ in spec["timeline"]]
        return self._keep("soundtrack", None, soundtrack.render(
            spec, voices, self.backends, self.workdir("soundtrack"), self.log))
