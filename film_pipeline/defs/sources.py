"""The spec sources: film.yaml observed as one data version per stage per shot (the firewall that
makes rebuilds exact). Each observation saves the spec it hashed, so a step reads exactly the
spec whose version it was given."""

import dagster as dg

from film_pipeline.defs.film_graph import FilmGraph
from film_pipeline.defs.resources import RenderSettings, StoreResource
from film_pipeline.expansion import expand_film
from film_pipeline.film import Film, load_film
from film_pipeline.graph import SOURCE, SOURCES
from film_pipeline.specs import SHOT_SPECS, character_spec, film_spec, score_spec, version_of
from film_pipeline.store import ArtifactStore, artifact_key

FILM_LEVEL_SPECS = {"score_spec": score_spec, "character_spec": character_spec}


def source_definitions(graph: FilmGraph) -> list[dg.SourceAsset]:
    """One observable source per row of the table's SOURCES, in its order."""
    return [film_spec_source(graph) if source.name == "film_spec"
            else shot_spec_source(graph, source.name) if source.per_shot
            else film_level_source(graph, source.name) for source in SOURCES]


def profile_of(film: Film, settings: RenderSettings) -> str:
    return settings.profile or film.profile


def save_spec(store: ArtifactStore, slug: str, name: str, shot: str | None, spec: dict) -> dg.DataVersion:
    version = version_of(spec)
    key = artifact_key(slug, name, shot, version, "json")
    if not store.exists(key):
        store.put_json(key, spec)
    return dg.DataVersion(version)


def film_spec_source(graph: FilmGraph):
    @dg.observable_source_asset(key=graph.key("film_spec"), group_name="specs", description=SOURCE["film_spec"].description)
    def film_spec_source(store: StoreResource, render_settings: RenderSettings):
        film, artifacts = load_film(graph.film_dir), store.get()
        profile = profile_of(film, render_settings)
        spec = {**film_spec(film, profile), "expansions": expand_film(film, profile, artifacts)[1]}
        return save_spec(artifacts, graph.slug, "film_spec", None, spec)

    return film_spec_source


def film_level_source(graph: FilmGraph, name: str):
    make_spec = FILM_LEVEL_SPECS[name]

    @dg.observable_source_asset(key=graph.key(name), group_name="specs", description=SOURCE[name].description)
    def film_level_source(store: StoreResource, render_settings: RenderSettings):
        film = load_film(graph.film_dir)
        return save_spec(store.get(), graph.slug, name, None, make_spec(film, profile_of(film, render_settings)))

    return film_level_source


def shot_spec_source(graph: FilmGraph, name: str):
    make_spec = SHOT_SPECS[name]

    @dg.observable_source_asset(key=graph.key(name), partitions_def=graph.partitions, group_name="specs",
                                description=SOURCE[name].description)
    def shot_spec_source(context, store: StoreResource, render_settings: RenderSettings):
        film, artifacts = load_film(graph.film_dir), store.get()
        profile = profile_of(film, render_settings)
        if name == "visual_spec":
            film = expand_film(film, profile, artifacts)[0]
        known = set(context.instance.get_dynamic_partitions(graph.partitions.name))
        return dg.DataVersionsByPartition({
            shot.id: save_spec(artifacts, graph.slug, name, shot.id, make_spec(film, shot, profile))
            for shot in film.shots if shot.id in known})

    return shot_spec_source
