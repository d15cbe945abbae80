"""Dagster definitions by kind, for one film at a time; `film.film_definitions` puts them together.

  film_graph.py  the film's names: asset keys, shot partitions, job names
  resources.py   the store and the run-wide settings
  sources.py     the spec sources observed from film.yaml
  step.py        one asset step's view: recorded inputs, backends, the materializer
  assets.py      the stages as assets, one thin body each
  conditions.py  declarative automation conditions
  checks.py      asset checks over the stored artifacts
  jobs.py        render, observe and check jobs; observing film.yaml in-process
  sensors.py     the film.yaml sensor and Dagster's automation sensor
  schedules.py   the nightly render
  film.py        the factory: one film's `dg.Definitions`

Imports run one way: `film` imports the kinds; `sensors` and `schedules` import `jobs`; the
kinds import `step`, `resources`, `conditions` and `film_graph`; `film_graph` imports nothing
here. The stages and the store
import nothing here.
"""
