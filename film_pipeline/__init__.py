"""film_pipeline: an AI film production pipeline as a Dagster asset graph.

A film.yaml becomes a script, a storyboard, a clip per shot, upscaled clips, a soundtrack and a
final cut, each a Dagster asset, each per-shot asset partitioned by shot, so an edit re-renders
exactly what it touches. `graph.py` is the stage table; docs/ARCHITECTURE.md walks the rest.
"""

from film_pipeline import heap

# A process Dagster started to execute one run or one step imports this package first, as it loads
# the code location: from here on its collector pauses while modules import (film_pipeline.heap)
heap.collect_around_imports_in_run_workers()
