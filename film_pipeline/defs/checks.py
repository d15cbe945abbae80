"""Asset checks: each row of `checks.CHECKS` as a Dagster check, partitioned like its asset,
reading the artifact the asset's latest materialization recorded."""

import dagster as dg

from film_pipeline.checks import CHECKS, CheckSpec, Finding, evaluate
from film_pipeline.defs.film_graph import FilmGraph
from film_pipeline.defs.resources import StoreResource
from film_pipeline.film import FilmError, load_film
from film_pipeline.graph import is_per_shot


# Dagster's op tag for the order of a run's ready steps (higher first, 0 by default)
AFTER_THE_FILM = {"dagster/priority": "-1"}


def check_definitions(graph: FilmGraph) -> list[dg.AssetChecksDefinition]:
    return [check_definition(graph, spec) for spec in CHECKS]


def result(finding: Finding, spec: CheckSpec) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.WARN if spec.warn_only else dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckResult(passed=finding.passed, severity=severity, description=finding.summary,
                               metadata={"summary": finding.summary, **finding.metadata})


def check_definition(graph: FilmGraph, spec: CheckSpec) -> dg.AssetChecksDefinition:
    partitioned = is_per_shot(spec.asset)

    @dg.asset_check(asset=graph.key(spec.asset), name=spec.name, description=spec.description, blocking=spec.blocking,
                    partitions_def=graph.partitions if partitioned else None,
                    # a film's checks wait for the film's other steps: the cut is there sooner, and the
                    # cut's checks find it read ahead (checks.read_ahead) beside the timeline export
                    op_tags=None if partitioned or spec.blocking else AFTER_THE_FILM)
    def film_check(context: dg.AssetCheckExecutionContext, store: StoreResource) -> dg.AssetCheckResult:
        shot = context.partition_key if partitioned else None
        manifest_key = graph.latest_manifest_key(context.instance, spec.asset, shot)
        if manifest_key is None:
            return result(Finding(False, f"{spec.asset}{f'[{shot}]' if shot else ''} has never been rendered"), spec)
        return result(evaluate(store.get(), manifest_key, spec, _film(graph) if spec.uses_film else None), spec)

    return film_check


def _film(graph: FilmGraph):
    """The film as film.yaml says now, for the checks that read it (None where it cannot be read)."""
    try:
        return load_film(graph.film_dir)
    except FilmError:
        return None
