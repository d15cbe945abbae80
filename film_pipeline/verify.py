"""`film verify`: re-hash the current version of every asset of a film, and repair what is damaged.

The current version of an asset partition is the data version its latest materialization
recorded. Each of its stored files is read again and hashed against the sha256 its manifest
holds (`integrity.StoredArtifacts.damage`). With `repair`, every damaged version is moved to the
store's attic, kept as evidence, and `film render` renders it again: its data version is the same,
so nothing downstream re-renders, and the new files restore what the manifest promised.
"""

from dataclasses import dataclass, field
from pathlib import Path

from film_pipeline.graph import ASSET_NAMES, is_per_shot
from film_pipeline.integrity import Damage, StoredArtifacts, attic_folder
from film_pipeline.planning import RecordedVersions
from film_pipeline.render import RenderResult, open_session, render_film, render_lock
from film_pipeline.store import open_store


@dataclass
class Verification:
    film: str
    checked: int = 0                                         # asset partitions re-hashed
    damaged: list[Damage] = field(default_factory=list)      # as found
    moved: list[str] = field(default_factory=list)           # attic keys, with --repair
    render: RenderResult | None = None                       # the repairing render, with --repair
    remaining: list[Damage] = field(default_factory=list)    # damage still found after the repair

    @property
    def intact(self) -> bool:
        return not (self.remaining if self.render is not None else self.damaged)

    def as_dict(self) -> dict:
        return {
            "film": self.film, "checked": self.checked, "intact": self.intact,
            "damaged": [d.as_dict() for d in self.damaged],
            "repaired": [d.as_dict() for d in self.damaged if self.render is not None and d not in self.remaining],
            "attic": self.moved, "remaining": [d.as_dict() for d in self.remaining],
            "materialized": [{"asset": a, "partition": p} for a, p in self.render.materialized] if self.render else [],
            "failed": [{"step": s, "error": e} for s, e in self.render.failures] if self.render else [],
        }


def current_versions(film_dir: Path | str, profile: str | None = None) -> tuple[str, dict]:
    """The film's slug and {(asset, shot): the version its latest materialization recorded}."""
    session = open_session(film_dir, profile)
    shots = [shot.id for shot in session.film.shots]
    recorded = RecordedVersions(session.graph, session.instance, shots)
    versions = {}
    for name in ASSET_NAMES:
        for shot in (shots if is_per_shot(name) else [None]):
            try:
                versions[(name, shot)] = recorded[(name, shot)]
            except KeyError:  # never rendered: nothing stored to verify
                continue
    return session.graph.slug, versions


def find_damage(film: str, versions: dict) -> list[Damage]:
    artifacts = StoredArtifacts(open_store(), film)
    return [damage for (name, shot), version in versions.items() for damage in artifacts.damage(name, shot, version)]


def verify_film(film_dir: Path | str, repair: bool = False, profile: str | None = None,
                on_plan=None, on_run=None) -> Verification:
    """Re-hash every current version; with `repair`, set the damaged ones aside and render them."""
    with render_lock():  # no render writes to the store while it is read and repaired
        film, versions = current_versions(film_dir, profile)
        report = Verification(film, checked=len(versions), damaged=find_damage(film, versions))
        if not (repair and report.damaged):
            return report
        artifacts, attic = StoredArtifacts(open_store(), film), attic_folder()
        for name, shot, version in dict.fromkeys((d.asset, d.shot, d.version) for d in report.damaged):
            report.moved.extend(artifacts.set_aside(name, shot, version, attic))
    report.render = render_film(film_dir, profile, on_run=on_run, on_plan=on_plan)
    _, versions = current_versions(film_dir, profile)
    report.remaining = find_damage(film, versions)
    return report
