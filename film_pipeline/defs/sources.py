"""The spec sources: film.yaml observed as one data version per stage per shot (the firewall that
makes rebuilds exact). Each observation saves the spec it hashed, so a step reads exactly the
spec whose version it was given. What each source observes is `observation.source_specs`: the
same versions `film render` and the sensor record without a run."""

import dagster as dg

from film_pipeline.defs.film_graph import FilmGraph
from film_pipeline.defs.resources import RenderSettings, StoreResource
from film_pipeline.film import Film, load_film
from film_pipeline.graph import SOURCE, SOURCES
from film_pipeline.observation import save_spec, source_specs


def source_definitions(graph: FilmGraph) -> list[dg.SourceAsset]:
    """One observable source per row of the table's SOURCES, in its order."""
    return [shot_spec_source(graph, source.name) if source.per_shot else film_level_source(graph, source.name)
            for source in SOURCES]


def profile_of(film: Film, settings: RenderSettings) -> str:
    return settings.profile or film.profile


def film_level_source(graph: FilmGraph, name: str):
    @dg.observable_source_asset(key=graph.key(name), group_name="specs", description=SOURCE[name].description)
    def film_level_source(store: StoreResource, render_settings: RenderSettings):
        film, artifacts = load_film(graph.film_dir), store.get()
        (spec,) = source_specs(name, film, profile_of(film, render_settings), artifacts).values()
        return dg.DataVersion(save_spec(artifacts, graph.slug, name, None, spec))

    return film_level_source


def shot_spec_source(graph: FilmGraph, name: str):
    @dg.observable_source_asset(key=graph.key(name), partitions_def=graph.partitions, group_name="specs",
                                description=SOURCE[name].description)
    def shot_spec_source(context, store: StoreResource, render_settings: RenderSettings):
        film, artifacts = load_film(graph.film_dir), store.get()
        known = context.instance.get_dynamic_partitions(graph.partitions.name)
        specs = source_specs(name, film, profile_of(film, render_settings), artifacts, known)
        return dg.DataVersionsByPartition({shot: dg.DataVersion(save_spec(artifacts, graph.slug, name, shot, spec))
                                           for shot, spec in specs.items()})

    return shot_spec_source
