"""Declarative automation conditions: the film.yaml sensor's choice, expressed for Dagster's own
automation sensor.

An asset partition is requested when it is missing, or when an input's *data version* changed
(not merely re-materialized: a reused artifact or an unchanged observation triggers nothing),
and never while an input is missing or in progress. Assets that read every shot (the soundtrack
and the cut) also wait while any shot is about to be requested, so they run once, after the
shots, exactly as `film render` orders its runs.
"""

import dagster as dg

AC = dg.AutomationCondition


def inputs_changed(reads_every_shot: bool) -> dg.AutomationCondition:
    trigger = AC.data_version_changed() if reads_every_shot else AC.data_version_changed() | AC.will_be_requested()
    condition = (
        (AC.newly_missing() | AC.any_deps_match(trigger)).since_last_handled()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
    )
    if reads_every_shot:
        condition = condition & ~AC.any_deps_match(AC.will_be_requested())
    return condition.with_label("an input's data version changed" + (", after every shot" if reads_every_shot else ""))
