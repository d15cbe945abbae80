"""Per-stage seconds, peak memory and model loads of a first render of the demo film.

    .venv/bin/python bench/stages.py --profile preview
    .venv/bin/python bench/stages.py --profile tiny

Renders in a fresh FILM_HOME through the same `film render` code; seconds and peak resident
memory come from each materialization's metadata (`seconds`, `peak_rss_mb`, measured per step),
model loads from film_pipeline.models.LOADS.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
warnings.filterwarnings("ignore")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="preview")
    args = parser.parse_args()
    import dagster as dg

    from film_pipeline.home import get_instance
    from film_pipeline.models import LOADS
    from film_pipeline.render import render_film

    with tempfile.TemporaryDirectory() as home:
        os.environ["FILM_HOME"] = home
        film_dir = Path(home) / "films" / "demo"
        shutil.copytree(REPO / "data" / "films" / "demo", film_dir)
        started = time.perf_counter()
        result = render_film(film_dir, args.profile)
        total = time.perf_counter() - started
        assert not result.failures, result.failures
        instance = get_instance()
        seconds, peaks, steps = defaultdict(float), defaultdict(float), defaultdict(int)
        for asset, partition in result.materialized:
            record = instance.get_latest_data_version_record(dg.AssetKey(["demo", asset]), False, partition)
            meta = record.event_log_entry.asset_materialization.metadata
            seconds[asset] += meta["seconds"].value
            peaks[asset] = max(peaks[asset], meta["peak_rss_mb"].value)
            steps[asset] += 1
    print(f"demo film, profile `{args.profile}`, first render {total:.1f}s wall, {os.cpu_count()} cores\n")
    print("| stage | steps | seconds (sum) | peak RSS MiB |\n|---|---|---|---|")
    for asset in seconds:
        print(f"| {asset} | {steps[asset]} | {seconds[asset]:.1f} | {peaks[asset]:.0f} |")
    print("\n| model | from_pretrained / weight loads |\n|---|---|")
    for (stage, model), count in sorted(LOADS.items()):
        print(f"| {stage}: `{model}` | {count} |")


if __name__ == "__main__":
    main()
