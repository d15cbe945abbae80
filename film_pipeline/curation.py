"""Curation: the takes of a shot and their scores, picking one, every version ever made, and
rolling a shot back to one of them.

film.yaml is edited round-trip (ruamel), so comments and layout survive; the edited text is
checked as a film before it replaces the file (atomically), so an edit that would make the file
invalid is reported at its line and nothing is written. `film review` edits through the same
functions (`pick`, `more_takes`, `edit_fields`, `rollback`). Renders after a pick or a rollback go
through the usual plan, so only what the change touches re-renders, and versions already in the
store are reused.
"""

import datetime as dt
import io
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from film_pipeline.film import FilmError, derived_seed, film_file, load_film
from film_pipeline.graph import ASSET_NAMES, SHOT_ASSETS
from film_pipeline.records import materializations
from film_pipeline.specs import SHOT_SPECS
from film_pipeline.store import artifact_key, open_store

# a shot's fields `edit_fields` (and `film review`'s inline edits) may change
EDITABLE_FIELDS = ("prompt", "narration", "camera")
MAX_TAKES = 16  # film.yaml's bound on `takes` and `clip_takes`


class CurationError(ValueError):
    """A take, shot or version that does not exist; the message says what does."""


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a writer's long prompt
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def edit_shot(film_dir: Path | str, shot_id: str, changes: dict, dry_run: bool = False) -> None:
    """Set (or, with None, remove) keys of one shot in film.yaml, keeping comments and layout.

    The edited text is checked as a film (`load_film`) before it replaces film.yaml, atomically
    (a temporary file beside it, renamed over it): an edit that would make the file invalid
    raises the FilmError that names film.yaml's line, and nothing is written. `dry_run` checks
    the edit and writes nothing.

    Only while no render runs on this FILM_HOME: a render reads film.yaml as it goes, so an edit
    under it is refused (RenderBusyError) before anything is written. The render lock also keeps
    two edits (two commands, two tabs of `film review`) from interleaving their read and write."""
    path = film_file(film_dir)
    if dry_run:
        _check_film_text(path, _edited_text(path, path.read_text(encoding="utf-8"), shot_id, changes), write=False)
        return
    with _no_render_running(path):
        text = _edited_text(path, path.read_text(encoding="utf-8"), shot_id, changes)
        _check_film_text(path, text, write=True)


def _edited_text(path: Path, original: str, shot_id: str, changes: dict) -> str:
    yaml = _yaml()
    doc = yaml.load(original)
    shot = next((s for s in doc.get("shots") or [] if s.get("id") == shot_id), None)
    if shot is None:
        raise CurationError(f"{path}: no shot `{shot_id}`; shots: {', '.join(str(s.get('id')) for s in doc['shots'])}")
    for key, value in changes.items():
        if value is None:
            shot.pop(key, None)
        else:
            shot[key] = value
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _check_film_text(path: Path, text: str, write: bool) -> None:
    """Check `text` as film.yaml (errors name `path` and the line) and, with `write`, put it in
    place of film.yaml atomically, with film.yaml's permissions (a symlinked film.yaml: its target)."""
    target = path.resolve()
    handle, name = tempfile.mkstemp(prefix=".film.", suffix=".edit.yaml", dir=target.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        try:
            load_film(temporary)
        except FilmError as error:
            said = lambda text: text.replace(str(temporary), str(path)).replace(temporary.name, path.name)  # noqa: E731
            raise FilmError(path, error.line, said(error.problem), said(error.fix)) from None
        if write:
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
            os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def _no_render_running(path: Path) -> Iterator[None]:
    """Hold the render lock while film.yaml is edited; a render holding it already is reported as
    such, with the assurance that nothing was written. The lock is released before the command
    renders the edit (render_film takes it again: it is not re-entrant)."""
    from film_pipeline.render import RenderBusyError, render_lock

    with ExitStack() as stack:
        try:
            stack.enter_context(render_lock())
        except RenderBusyError as error:
            raise RenderBusyError(f"{error}. Nothing was changed: {path} is as it was; "
                                  f"run the same command again once that render has finished") from None
        yield


# ---- takes -----------------------------------------------------------------------------

@dataclass
class Take:
    take: int
    total: float
    scores: dict
    path: Path
    best: bool
    used: bool


def _latest_manifest(session, store, name: str, shot: str) -> dict:
    manifest_key = session.graph.latest_manifest_key(session.instance, name, shot)
    if manifest_key is None:
        raise CurationError(f"{name}[{shot}] has not been rendered yet; run `film render {session.film.path.parent}`")
    return store.read_json(manifest_key)


def takes(film_dir: Path | str, shot_id: str) -> dict:
    """The shot's keyframe takes (and clip takes) with their scores, the best and the one in use."""
    from film_pipeline.render import open_session

    session = open_session(film_dir)
    _require_shot(session.film, shot_id)
    store = open_store()
    board = _latest_manifest(session, store, "storyboard", shot_id)
    clip = _latest_manifest(session, store, "clip", shot_id)
    info = board["info"]
    scores = info.get("scores", {"1": {"total": 0.0}})
    keyframes = [Take(int(t), v["total"], v, store.local_path(board["files"][f"take{t}"]["key"]), int(t) == info.get("best_take", 1),
                      int(t) == clip["info"].get("pick", 1)) for t, v in sorted(scores.items(), key=lambda kv: int(kv[0]))]
    sheet = board["files"].get("takes_sheet") or board["files"]["take1"]
    clips = []
    for t, v in sorted(clip["info"].get("clip_scores", {}).items(), key=lambda kv: int(kv[0])):
        role = "video" if int(t) == clip["info"]["clip_take"] else f"clip_take{t}"
        clips.append(Take(int(t), v["total"], v, store.local_path(clip["files"][role]["key"]),
                          int(t) == clip["info"]["clip_best"], int(t) == clip["info"]["clip_take"]))
    return {"shot": shot_id, "sheet": store.local_path(sheet["key"]), "keyframes": keyframes, "clips": clips}


def pick(film_dir: Path | str, shot_id: str, take: int, clip: bool = False, dry_run: bool = False) -> None:
    """Write `pick: TAKE` (or `clip_pick`) into the shot; 0 goes back to the best-scoring take."""
    film = load_film(film_dir)
    shot = _require_shot(film, shot_id)
    count = shot.clip_takes if clip else shot.takes
    if isinstance(take, bool) or not isinstance(take, int) or not 0 <= take <= count:
        raise CurationError(f"shot `{shot_id}` has {count} {'clip ' if clip else ''}take(s); pick 1 to {count}, "
                            f"or 0 for the best-scoring one")
    edit_shot(film_dir, shot_id, {"clip_pick" if clip else "pick": take or None}, dry_run=dry_run)


def more_takes(film_dir: Path | str, shot_id: str, more: int = 2, dry_run: bool = False) -> int:
    """Raise the shot's `takes` by `more` (to 16 at most); the new count. A render then paints only
    the new takes: take k is painted with seed + k - 1 whatever the count, and the storyboard
    copies the takes it already has from the store (stages/storyboard.py)."""
    film = load_film(film_dir)
    shot = _require_shot(film, shot_id)
    if isinstance(more, bool) or not isinstance(more, int) or more < 1:
        raise CurationError(f"ask for 1 or more takes, not {more!r}")
    if shot.takes >= MAX_TAKES:
        raise CurationError(f"shot `{shot_id}` has {shot.takes} takes, the most a shot can have; pick one of them")
    count = min(MAX_TAKES, shot.takes + more)
    edit_shot(film_dir, shot_id, {"takes": count}, dry_run=dry_run)
    return count


def edit_fields(film_dir: Path | str, shot_id: str, fields: dict, dry_run: bool = False) -> dict:
    """Set the shot's `prompt`, `narration` or `camera` (EDITABLE_FIELDS) to the text given; empty
    text removes the key (a shot without a prompt is an error at its line, and nothing is
    written). Only what differs from film.yaml is written; the changes made."""
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise CurationError(f"`{unknown[0]}` cannot be edited here; editable: {', '.join(EDITABLE_FIELDS)}")
    film = load_film(film_dir)
    shot = _require_shot(film, shot_id)
    changes = {}
    for key, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise CurationError(f"`{key}` must be text, not {type(value).__name__}")
        value = (value or "").replace("\r\n", "\n").strip() or None
        current = getattr(shot, key)
        if value != current and not (key == "camera" and value is None and current == "static"):
            changes[key] = value
    if changes:
        edit_shot(film_dir, shot_id, changes, dry_run=dry_run)
    return changes


# ---- history and rollback --------------------------------------------------------------

def history(film_dir: Path | str, shot_id: str | None = None) -> list[dict]:
    """Every materialization of the shot's assets (or the whole film's), oldest first."""
    from film_pipeline.render import open_session

    session = open_session(film_dir)
    if shot_id:
        _require_shot(session.film, shot_id)
    names = SHOT_ASSETS if shot_id else ASSET_NAMES
    rows = []
    for name in names:
        for record in materializations(session.instance, session.graph.key(name)):
            materialization = record.asset_materialization
            if shot_id and materialization.partition != shot_id:
                continue
            meta = {key: value.value for key, value in materialization.metadata.items()}
            rows.append({
                "time": dt.datetime.fromtimestamp(record.timestamp, dt.timezone.utc).isoformat(timespec="seconds"),
                "asset": name, "shot": materialization.partition,
                "version": materialization.tags.get("dagster/data_version"), "reused": bool(meta.get("reused")),
                "seed": meta.get("seed"), "prompt": meta.get("prompt"), "profile": meta.get("profile"),
                "uri": meta.get("uri"), "run_id": record.run_id, "_order": record.storage_id,
            })
    rows.sort(key=lambda row: row.pop("_order"))
    return rows


def rollback(film_dir: Path | str, shot_id: str, version: str, dry_run: bool = False) -> dict:
    """Restore, in film.yaml, the shot's spec as it was when `version` (of any of its assets) was
    made; the changes (with `dry_run`, the changes it would make, nothing written)."""
    from film_pipeline.render import open_session

    session = open_session(film_dir)
    shot = _require_shot(session.film, shot_id)
    store = open_store()
    manifest = next((store.read_json(key) for name in SHOT_ASSETS
                     if store.exists(key := artifact_key(session.graph.slug, name, shot_id, version, "json"))), None)
    if manifest is None:
        raise CurationError(f"no version `{version}` of shot `{shot_id}` in the store; "
                            f"`film history {session.film.path.parent} {shot_id}` lists them")
    if not manifest.get("specs"):
        raise CurationError(f"version `{version}` was rendered before specs were recorded; it can be viewed, not restored")
    spec = {name: store.read_json(artifact_key(session.graph.slug, name, shot_id, v, "json"))
            for name, v in manifest["specs"].items()}
    wanted = _shot_fields(session.film, shot, spec)
    now = _shot_fields(session.film, shot, {name: make(session.film, shot, session.film.profile)
                                            for name, make in SHOT_SPECS.items()})
    changes = {key: value for key, value in wanted.items() if now.get(key) != value}
    if changes:
        edit_shot(film_dir, shot_id, changes, dry_run=dry_run)
    return changes


def _shot_fields(film, shot, spec: dict) -> dict:
    """film.yaml fields of one shot that reproduce these specs (None removes a key: its default)."""
    visual, motion, narration = spec["visual_spec"], spec["motion_spec"], spec["narration_spec"]
    fps = motion["fps"]
    fields = {
        "prompt": visual["prompt"], "takes": visual["takes"] if visual["takes"] > 1 else None,
        "seed": None if visual["seed"] == derived_seed(film.seed, shot.id) else visual["seed"],
        "camera": None if motion["camera"] == "static" else motion["camera"], "motion": motion["motion"],
        "duration": round(motion["frames"] / fps, 6),
        "pick": None if motion["pick"] == "best" or visual["takes"] == 1 else motion["pick"],
        "clip_takes": motion.get("clip_takes"),
        "clip_pick": None if motion.get("clip_pick", "best") == "best" else motion["clip_pick"],
        "narration": narration["text"] or None, "voice": narration["voice"],
    }
    if [c["name"] for c in visual["characters"]] != list(shot.characters):
        fields["characters"] = [c["name"] for c in visual["characters"]] or None
    return fields


def _require_shot(film, shot_id: str):
    try:
        return film.shot(shot_id)
    except KeyError:
        raise CurationError(f"{film.path}: no shot `{shot_id}`; shots: {', '.join(s.id for s in film.shots)}") from None
