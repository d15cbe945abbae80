"""The nightly render: `schedule:` in film.yaml (on when written, off otherwise) renders every
stale shot with the night profile into its own versions; the film's sensor then cuts them."""

from dataclasses import dataclass

import dagster as dg

from film_pipeline.defs.film_graph import FilmGraph, sync_shot_partitions
from film_pipeline.defs.jobs import observe, tagged
from film_pipeline.film import FilmError, NightlyRender, load_film
from film_pipeline.planning import plan_film


def nightly_render(graph: FilmGraph, shot_job) -> dg.ScheduleDefinition:
    """`schedule:` in film.yaml (on when written, off otherwise): everything stale, night profile."""
    night = _night_settings(graph)

    @dg.schedule(name=f"{graph.slug}__nightly", cron_schedule=night.cron, execution_timezone=night.timezone,
                 job=shot_job,
                 default_status=dg.DefaultScheduleStatus.RUNNING if night.configured else dg.DefaultScheduleStatus.STOPPED,
                 description=f"Draft by day, final by night: renders every stale shot of {graph.slug} with the "
                             f"`{night.profile}` profile into its own versions (the day's preview renders stay in "
                             "the store); the film's sensor then cuts them together.")
    def nightly(context: dg.ScheduleEvaluationContext):
        film = load_film(graph.film_dir)
        profile = film.schedule.profile if film.schedule else night.profile
        sync_shot_partitions(context.instance, graph.partitions.name, [s.id for s in film.shots])
        observe(context.instance, graph, profile=profile)
        plan = plan_film(film, graph, context.instance)
        requests = [r for r in plan.run_requests(graph) if r.partition_key is not None]
        if not requests:
            return dg.SkipReason(f"every shot of {graph.slug} is up to date with the `{profile}` profile")
        return [tagged(r, graph, "schedule", profile, f"{context.scheduled_execution_time:%Y-%m-%d}") for r in requests]

    return nightly


@dataclass(frozen=True)
class _Night:
    cron: str
    profile: str
    timezone: str
    configured: bool


def _night_settings(graph: FilmGraph) -> _Night:
    """The schedule's cron is fixed when the code location loads; a broken film.yaml falls back to the default."""
    try:
        night = load_film(graph.film_dir).schedule
    except FilmError:
        night = None
    settings = night or NightlyRender()
    return _Night(settings.cron, settings.profile, settings.timezone, night is not None)
