"""Script expansion: the profile's language model adds visual detail to terse shot prompts.

Only with `expand: true` in film.yaml, and only for prompts under `EXPAND_BELOW_WORDS` words.
The writer's words always stay first; the model's sentence follows. Each expansion is stored
under a key hashed from the model and the prompt, so it is computed once and reused by every
later observation and render (and shown in the script asset's metadata).
"""

from dataclasses import replace

from film_pipeline.backends import backend_for
from film_pipeline.film import Film
from film_pipeline.specs import stage_backend, version_of
from film_pipeline.store import ArtifactStore, artifact_key

EXPAND_BELOW_WORDS = 8


def needs_expansion(film: Film, prompt: str) -> bool:
    return film.expand and len(prompt.split()) < EXPAND_BELOW_WORDS


def expand_film(film: Film, profile: str, store: ArtifactStore) -> tuple[Film, dict[str, str]]:
    """The film with terse prompts expanded, and `{shot id: expanded prompt}` for those shots."""
    ident = stage_backend(film, "text", profile)
    expansions = {}
    for shot in film.shots:
        if not needs_expansion(film, shot.prompt):
            continue
        key = artifact_key(film.slug, "expansion", None, version_of(ident, shot.prompt, film.style), "json")
        if not store.exists(key):
            text = backend_for("text", ident).expand(shot.prompt, film.style)
            store.put_json(key, {"prompt": text, "written": shot.prompt, "model": ident})
        expansions[shot.id] = store.read_json(key)["prompt"]
    shots = tuple(replace(s, prompt=expansions.get(s.id, s.prompt)) for s in film.shots)
    return replace(film, shots=shots), expansions
