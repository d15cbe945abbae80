"""Whether the cut stays exact past Dagster's 100-partition limit (run by bench/results.py).

    FILM_HOME=... .venv/bin/python bench/exactness.py FILM_DIR

Picks the other take of the film's two-take shot, renders only that shot's run (as the film.yaml
sensor or a rerun from the UI does), then asks Dagster's resolver and the planner about the cut.
Then picks the first take again and renders that shot's run back (reused from the store), so the
film is left as it was: the next `film render` is a no-op, not a render of that shot and the cut.
Prints one JSON line: {"dagster": status, "planner": status, "exact": bool}.
"""

import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore")

from bench.films import pick_take  # noqa: E402
from film_pipeline.dagster_internals import StaleStatuses  # noqa: E402
from film_pipeline.defs.jobs import QUIET  # noqa: E402
from film_pipeline.render import current_plan  # noqa: E402


def render_shot_runs(film_dir: Path) -> None:
    """The shots the plan would render, each in its own run, as the sensor renders them (not the cut)."""
    session, plan = current_plan(film_dir)
    job = session.defs.resolve_job_def(session.graph.shot_job)
    for shot, assets in plan.shot_runs.items():
        assert job.execute_in_process(instance=session.instance, partition_key=shot, run_config=QUIET,
                                      asset_selection=[session.graph.key(a) for a in assets]).success


def main(film_dir: Path) -> None:
    pick_take(film_dir / "film.yaml", 2)
    assert len(current_plan(film_dir)[1].shot_runs) == 1, "one shot's pick changed: one shot to render"
    render_shot_runs(film_dir)
    session, after = current_plan(film_dir)
    statuses = StaleStatuses(session.instance, session.defs.resolve_asset_graph())
    dagster = statuses.status(session.graph.key("final_cut"), None)
    planner = next(s.status for s in after.states if s.asset == "final_cut")
    print(json.dumps({"dagster": dagster, "planner": planner, "exact": planner == "stale"}))
    pick_take(film_dir / "film.yaml", 1)
    render_shot_runs(film_dir)  # the first take again (reused from the store): the film as it was, its cut current


if __name__ == "__main__":
    main(Path(sys.argv[1]))
