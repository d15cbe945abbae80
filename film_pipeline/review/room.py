"""The review room's state: what the page shows of a film, and the one render at a time its
actions start.

Reading (the cut, the shot strip, a shot's takes, the history, a stored version) goes through
the instance and the store as `film takes` and `film history` do. Every action is a `Job`: an
edit through `film_pipeline.curation` (pick, more takes, a shot's fields, rollback), then
`render_film`, the same render `film pick` makes, so its runs are in Dagster's UI too
(`RenderResult.run_ids`). Jobs run one after another on one background thread; jobs queued
while a render runs are edited in, in order, and rendered together by the next render. That
thread also computes the statuses the strip shows (`current_plan`), so no two Dagster runs ever
share this process at once.

Media are served only by (asset, shot, version, role): the version's manifest is looked up in
the store and the file is the one its manifest lists under that role, never a path from a request.
"""

import hashlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from film_pipeline import curation
from film_pipeline.film import CAMERAS, SHOT_ID, FilmError, film_file, film_location, film_slug, load_film
from film_pipeline.graph import FILM_ASSETS, SHOT_ASSETS
from film_pipeline.specs import film_timeline
from film_pipeline.stages.previews import KEYFRAME_TAKE
from film_pipeline.store import artifact_key, open_store

VERSION = re.compile(r"[0-9a-f]{8,64}")
CLIP_TAKE = re.compile(r"clip_take[1-9][0-9]*")  # a clip take not chosen (its video)
ROLE = re.compile(r"[A-Za-z0-9_.-]{1,80}")
# what the page may fetch of an artifact, by the extension of its stored file
MEDIA_TYPES = {"mp4": "video/mp4", "png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "wav": "audio/wav",
               "vtt": "text/vtt; charset=utf-8", "srt": "text/plain; charset=utf-8"}
# the cut's WebVTT subtitles, where its manifest lists them: this role, else another one with a .vtt file
SUBTITLES_ROLE = "subtitles_vtt"
KEPT_JOBS = 30  # finished jobs the page lists
STATUS_ORDER = ("fresh", "stale", "missing")  # a shot's status: its least fresh asset's


class NotFound(LookupError):
    """No such shot, version or file: the page answers 404."""


@dataclass
class Job:
    """One action of the review room: an edit (or none) and the render that follows it."""

    id: int
    label: str
    shot: str | None
    apply: Callable[[], object] | None = field(repr=False, default=None)
    state: str = "queued"  # queued, running, done, failed
    error: str | None = None
    change: object = None
    plan: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    materialized: list[tuple[str, str | None]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    queued_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None

    def as_dict(self, dagster_url: str) -> dict:
        return {"id": self.id, "label": self.label, "shot": self.shot, "state": self.state, "error": self.error,
                "change": self.change if isinstance(self.change, (dict, int, str, type(None))) else str(self.change),
                "plan": self.plan, "materialized": [list(m) for m in self.materialized],
                "failures": [{"step": s, "error": e} for s, e in self.failures],
                "skipped": [{"what": w, "why": y} for w, y in self.skipped],
                "runs": [{"id": r, "url": f"{dagster_url}/runs/{r}"} for r in self.run_ids],
                "queued_at": self.queued_at, "started_at": self.started_at, "finished_at": self.finished_at}


def render_film(film_dir, on_run=None, on_plan=None):
    """`film_pipeline.render.render_film` (imported when first used: it loads Dagster)."""
    from film_pipeline.render import render_film as render

    return render(film_dir, on_run=on_run, on_plan=on_plan)


class ReviewRoom:
    def __init__(self, film_dir: Path | str, dagster_url: str = "http://127.0.0.1:3000",
                 render: Callable = render_film):
        self.film_yaml = film_file(film_dir)
        load_film(self.film_yaml)  # a FilmError now, not on the first page
        self.film_dir = film_location(self.film_yaml.parent)
        self.slug = film_slug(self.film_dir)
        self.dagster_url = dagster_url.rstrip("/")
        self.render = render
        self.edit_lock = threading.Lock()  # one read-modify-write of film.yaml at a time in this server
        self.changed = threading.Condition()
        self.jobs: list[Job] = []
        self.queue: list[Job] = []
        self.next_id = 1
        self.generation = 0  # moves whenever what the page shows may have changed
        self.statuses: dict[str, str] = {}  # shot (or "cut") -> fresh | stale | missing
        self.reasons: dict[str, str] = {}
        self.rendering: set[str] = set()
        self.film_error: str | None = None
        self.refresh_wanted = True
        self.refreshed_for: str | None = None  # film.yaml's digest the statuses were computed for
        self.stopping = False
        self.working = False  # the worker is editing, rendering or computing statuses
        self._worker = threading.Thread(target=self._work, name="film-review-renders", daemon=True)
        self._manifests: dict[str, dict] = {}  # content-addressed: a key's manifest never changes
        self._verified: dict[str, Path] = {}

    # ---- the worker -------------------------------------------------------------------------

    def start(self) -> "ReviewRoom":
        self._worker.start()
        return self

    def stop(self, timeout: float | None = None) -> bool:
        """Stop taking jobs; wait for the one in flight (up to `timeout`). Whether the worker ended."""
        with self.changed:
            self.stopping = True
            self.changed.notify_all()
        if self._worker.is_alive():
            self._worker.join(timeout)
        return not self._worker.is_alive()

    def idle(self) -> bool:
        """Nothing queued, rendering or being looked at: what the page shows is settled."""
        with self.changed:
            return not self.queue and not self.working and not self.refresh_wanted

    def submit(self, label: str, shot: str | None, apply: Callable[[], object] | None) -> Job:
        with self.changed:
            job = Job(self.next_id, label, shot, apply)
            self.next_id += 1
            finished = [j for j in self.jobs if j.state in ("done", "failed")]
            self.jobs = [j for j in self.jobs if j not in finished[:max(0, len(finished) - KEPT_JOBS)]] + [job]
            self.queue.append(job)
            self.generation += 1
            self.changed.notify_all()
        return job

    def want_refresh(self) -> None:
        """Statuses again (film.yaml changed under the page: another editor, `film pick`)."""
        with self.changed:
            self.refresh_wanted = True
            self.changed.notify_all()

    def _work(self) -> None:
        while True:
            with self.changed:
                while not (self.queue or self.refresh_wanted or self.stopping):
                    self.changed.wait()
                if self.stopping:
                    return
                batch, self.queue = self.queue, []
                self.refresh_wanted, self.working = False, True
            try:
                if batch:
                    self._run(batch)
                self._refresh()
            finally:
                with self.changed:
                    self.working = False
                    self.generation += 1

    def _run(self, batch: list[Job]) -> None:
        started = time.time()
        for job in batch:
            job.state, job.started_at = "running", started
        ready = []
        for job in batch:
            try:
                if job.apply is not None:
                    with self.edit_lock:
                        job.change = job.apply()
                ready.append(job)
            except Exception as error:  # refused: nothing was written (curation checks before it writes)
                self._end(job, "failed", error=_said(error))
        if not ready:
            return

        def on_plan(plan) -> None:
            with self.changed:
                self.rendering = set(plan.shot_runs) | ({"cut"} if plan.film_assets else set())
                for job in ready:
                    job.plan = [f"{s.asset}[{s.partition}]" if s.partition else s.asset for s in plan.planned]
                self.generation += 1

        def on_run(label: str, _steps: int) -> None:
            with self.changed:
                self.rendering.discard(label.removeprefix("shot ") if label.startswith("shot ") else "cut")
                self.generation += 1
            runs = self._runs_since(started)
            for job in ready:
                job.run_ids = runs

        try:
            result = self.render(self.film_dir, on_run=on_run, on_plan=on_plan)
        except Exception as error:
            said = _said(error)
            for job in ready:
                edited = job.apply is not None
                self._end(job, "failed", error=f"film.yaml is changed, but it was not rendered: {said}" if edited
                          else said)
        else:
            for job in ready:
                job.run_ids = list(result.run_ids)
                job.materialized = list(result.materialized)
                job.failures, job.skipped = list(result.failures), list(result.skipped)
                self._end(job, "failed" if result.failures else "done",
                          error=f"{len(result.failures)} step(s) failed" if result.failures else None)
        finally:
            with self.changed:
                self.rendering = set()
                self.generation += 1

    def _end(self, job: Job, state: str, error: str | None = None) -> None:
        with self.changed:
            job.state, job.error, job.finished_at = state, error, time.time()
            self.generation += 1

    def _runs_since(self, started: float) -> list[str]:
        """The film's render runs this server's render has made so far (for live links)."""
        try:
            import datetime as dt

            import dagster as dg

            from film_pipeline.home import get_instance

            with get_instance() as instance:
                records = instance.get_run_records(dg.RunsFilter(
                    tags={"film": self.slug, "launched_by": "film-cli"},
                    created_after=dt.datetime.fromtimestamp(started - 1, dt.timezone.utc)), ascending=True)
            return [r.dagster_run.run_id for r in records
                    if r.dagster_run.job_name in (f"{self.slug}__render_shot", f"{self.slug}__render_film")]
        except Exception:  # live links are a nicety: the render's own result lists every run at its end
            return []

    def _refresh(self) -> None:
        """Statuses of every shot and of the cut, as `film status` computes them."""
        from film_pipeline.render import current_plan

        digest = self._film_digest()
        try:
            _, plan = current_plan(self.film_dir)
        except Exception as error:
            with self.changed:
                self.film_error, self.refreshed_for = _said(error), digest
                self.generation += 1
            return
        statuses, reasons = {}, {}
        for state in plan.states:
            where = state.partition or ("cut" if state.asset == "final_cut" else None)
            if where is None:
                continue
            if STATUS_ORDER.index(state.status) > STATUS_ORDER.index(statuses.get(where, "fresh")):
                statuses[where], reasons[where] = state.status, f"{state.asset}: {state.reason}" if state.reason else ""
            statuses.setdefault(where, state.status)
        with self.changed:
            self.statuses, self.reasons, self.film_error, self.refreshed_for = statuses, reasons, None, digest
            self.generation += 1

    def _film_digest(self) -> str | None:
        try:
            return hashlib.sha256(self.film_yaml.read_bytes()).hexdigest()
        except OSError:
            return None

    # ---- what the page shows ----------------------------------------------------------------

    def status(self) -> dict:
        """What the page polls: statuses (with what renders now), the jobs, the generation."""
        if self.refreshed_for is not None and self._film_digest() != self.refreshed_for and self.idle():
            self.want_refresh()  # film.yaml was edited elsewhere
        with self.changed:
            statuses = {**self.statuses, **{where: "rendering" for where in self.rendering}}
            busy = bool(self.queue) or self.working
            return {"film": self.slug, "generation": self.generation, "busy": busy, "statuses": statuses,
                    "reasons": dict(self.reasons), "film_error": self.film_error,
                    "jobs": [job.as_dict(self.dagster_url) for job in reversed(self.jobs)]}

    def session(self):
        from film_pipeline.render import open_session

        return open_session(self.film_dir)

    def manifest(self, asset: str, shot: str | None, version: str) -> dict:
        """A version's manifest from the store (NotFound when the store has none)."""
        if asset not in SHOT_ASSETS + FILM_ASSETS or not VERSION.fullmatch(version or ""):
            raise NotFound(f"{asset}/{version}")
        if (asset in FILM_ASSETS) != (shot is None) or (shot is not None and not SHOT_ID.match(shot)):
            raise NotFound(f"{asset}[{shot}]")
        key = artifact_key(self.slug, asset, shot, version, "json")
        if key not in self._manifests:
            store = open_store()
            if not store.exists(key):
                raise NotFound(key)
            self._manifests[key] = store.read_json(key)
        return self._manifests[key]

    def current(self, session, asset: str, shot: str | None) -> dict | None:
        """The manifest of an asset's latest materialization (None: never made)."""
        key = session.graph.latest_manifest_key(session.instance, asset, shot)
        if key is None:
            return None
        return self.manifest(asset, shot, key.rsplit("/", 1)[-1].removesuffix(".json"))

    def media(self, asset: str, shot: str | None, version: str, role: str) -> tuple[Path, str]:
        """The local file of a version's `role`, as its manifest lists it (sha256 checked once), and
        its media type. NotFound for anything else."""
        if not ROLE.fullmatch(role or ""):
            raise NotFound(role)
        stored = self.manifest(asset, shot, version).get("files", {}).get(role)
        if not isinstance(stored, dict) or not str(stored.get("key", "")).startswith(f"{self.slug}/"):
            raise NotFound(f"{asset}/{version}/{role}")
        key = stored["key"]
        kind = MEDIA_TYPES.get(key.rsplit(".", 1)[-1].lower())
        if kind is None:
            raise NotFound(key)
        if key not in self._verified:
            store = open_store()
            try:
                self._verified[key] = store.local_path(key, stored.get("sha256"))
            except (OSError, RuntimeError) as error:
                raise NotFound(f"{key}: {error}") from None
        return self._verified[key], kind

    def media_url(self, asset: str, shot: str | None, manifest: dict, role: str) -> str | None:
        if role not in manifest.get("files", {}):
            return None
        return f"/media/{asset}/{shot or '_'}/{manifest['version']}/{role}"

    def overview(self) -> dict:
        """The film: its cut (video, poster, subtitles, length) and its shots in film order. While
        film.yaml is invalid (edited elsewhere), its error and no shots."""
        from film_pipeline.dagster_internals import latest_versions_by_partition

        try:
            session = self.session()
        except FilmError as error:
            return {"title": self.slug, "logline": None, "slug": self.slug, "film_yaml": str(self.film_yaml),
                    "shots": [], "dagster_url": self.dagster_url, "cameras": CAMERAS, "cut": None,
                    **self.status(), "film_error": str(error)}
        film = session.film
        starts = {p.shot_id: p.start / film.fps for p in film_timeline(film)}
        cut = self.current(session, "final_cut", None)
        latest = {name: latest_versions_by_partition(session.instance, session.graph.key(name))
                  for name in ("clip", "storyboard")}  # one query each, whatever the film's length

        def made(name: str, shot: str) -> dict | None:
            version = latest[name].get(shot)
            return _or_none(self.manifest, name, shot, version) if version else None

        shots = []
        for shot in film.shots:
            clip, board = made("clip", shot.id), made("storyboard", shot.id)
            thumb = (self.media_url("clip", shot.id, clip, "frame") if clip else None) or (
                self.media_url("storyboard", shot.id, board, "take1") if board else None)
            shots.append({"id": shot.id, "duration": shot.duration, "prompt": shot.prompt, "start": starts[shot.id],
                          "thumb": thumb, "takes": shot.takes, "clip_takes": shot.clip_takes})
        return {
            "title": film.title, "logline": film.logline, "slug": self.slug, "film_yaml": str(self.film_yaml),
            "shots": shots, "dagster_url": self.dagster_url, "cameras": CAMERAS,
            "cut": None if cut is None else {
                "version": cut["version"], "video": self.media_url("final_cut", None, cut, "video"),
                "poster": self.media_url("final_cut", None, cut, "poster"),
                "subtitles": self.media_url("final_cut", None, cut, subtitles_role(cut)),
                "duration": cut["info"].get("duration_seconds")},
            **self.status(),
        }

    def shot(self, shot_id: str) -> dict:
        """One shot: its fields, every keyframe take and clip take (scores, best, in use), its history."""
        session = self.session()
        try:
            shot = session.film.shot(shot_id)
        except KeyError:
            raise NotFound(shot_id) from None
        board = self.current(session, "storyboard", shot_id)
        clip = self.current(session, "clip", shot_id)
        upscaled = self.current(session, "upscaled_clip", shot_id)
        in_use = (clip or {}).get("info", {}).get("keyframe")
        keyframes = []
        if board:
            info = board["info"]
            for role, stored in sorted(board["files"].items(), key=lambda item: _take_number(item[0])):
                if not KEYFRAME_TAKE.fullmatch(role):
                    continue
                take = _take_number(role)
                scores = info.get("scores", {}).get(str(take), {})
                keyframes.append({"take": take, "total": scores.get("total"), "scores": scores,
                                  "best": take == info.get("best_take"), "used": stored["key"] == in_use,
                                  "image": self.media_url("storyboard", shot_id, board, role),
                                  "width": info.get("width"), "height": info.get("height")})
        clips = []
        if clip:
            info = clip["info"]
            chosen = info.get("clip_take", 1)
            scores = info.get("clip_scores") or {"1": {}}
            for take in sorted(int(t) for t in scores):
                video_role = "video" if take == chosen else f"clip_take{take}"
                preview_role = "preview" if take == chosen else f"preview_take{take}"
                clips.append({"take": take, "total": scores[str(take)].get("total"), "scores": scores[str(take)],
                              "best": take == info.get("clip_best", 1), "used": take == chosen,
                              "video": self.media_url("clip", shot_id, clip, video_role),
                              "preview": self.media_url("clip", shot_id, clip, preview_role)})
        return {
            "id": shot.id, "prompt": shot.prompt, "narration": shot.narration or "", "camera": shot.camera,
            "duration": shot.duration, "takes": shot.takes, "pick": shot.pick, "clip_takes": shot.clip_takes,
            "clip_pick": shot.clip_pick, "cameras": CAMERAS, "max_takes": curation.MAX_TAKES,
            "board_version": board["version"] if board else None, "clip_version": clip["version"] if clip else None,
            "end": self.media_url("storyboard", shot_id, board, "end") if board else None,
            "upscaled": self.media_url("upscaled_clip", shot_id, upscaled, "video") if upscaled else None,
            "keyframes": keyframes, "clips": clips, "history": self.history(shot_id),
            "status": self.status()["statuses"].get(shot_id),
        }

    def history(self, shot_id: str) -> list[dict]:
        rows = curation.history(self.film_dir, shot_id)
        for row in rows:
            row["run_url"] = f"{self.dagster_url}/runs/{row['run_id']}" if row.get("run_id") else None
        return list(reversed(rows))  # newest first

    def version(self, asset: str, shot_id: str, version: str) -> dict:
        """A stored version of one of a shot's assets, for "Compare": its pictures or clip, and the
        shot's spec (prompt, camera, takes, pick, narration ...) as it was when it was made."""
        if asset not in SHOT_ASSETS:
            raise NotFound(asset)
        manifest = self.manifest(asset, shot_id, version)
        store = open_store()
        fields = {}
        for name, spec_version in (manifest.get("specs") or {}).items():
            key = artifact_key(self.slug, name, shot_id, spec_version, "json")
            if VERSION.fullmatch(str(spec_version)) and store.exists(key):
                spec = store.read_json(key)
                fields.update(_spec_fields(name, spec))
        files = manifest.get("files", {})
        media = []
        for role, stored in files.items():  # what the version is: its pictures, its clips, its voice
            if role in ("video", "audio", "end") or KEYFRAME_TAKE.fullmatch(role) or CLIP_TAKE.fullmatch(role):
                kind = stored["key"].rsplit(".", 1)[-1]
                media.append({"role": role, "kind": {"mp4": "video", "wav": "audio"}.get(kind, "image"),
                              "url": self.media_url(asset, shot_id, manifest, role)})
        media.sort(key=lambda m: (m["role"] != "video", _take_number(m["role"]), m["role"]))
        return {"asset": asset, "shot": shot_id, "version": version, "fields": fields, "media": media,
                "info": {k: v for k, v in manifest.get("info", {}).items() if isinstance(v, (str, int, float, bool))}}


def subtitles_role(manifest: dict) -> str:
    """The role of the cut's WebVTT file: `subtitles_vtt`, or whichever role lists a `.vtt` file."""
    files = manifest.get("files", {})
    if SUBTITLES_ROLE in files:
        return SUBTITLES_ROLE
    return next((role for role, stored in sorted(files.items()) if str(stored.get("key", "")).endswith(".vtt")),
                SUBTITLES_ROLE)


def _or_none(function, *args):
    try:
        return function(*args)
    except NotFound:
        return None


def _take_number(role: str) -> int:
    digits = re.findall(r"[0-9]+", role)
    return int(digits[-1]) if digits else 0


def _spec_fields(name: str, spec: dict) -> dict:
    """What the writer set, from a stored spec."""
    if name == "visual_spec":
        return {"prompt": spec.get("prompt"), "takes": spec.get("takes"), "seed": spec.get("seed"),
                **({"end_prompt": spec["end_prompt"]} if spec.get("end_prompt") else {})}
    if name == "motion_spec":
        fps = spec.get("fps") or 1
        return {"camera": spec.get("camera"), "motion": spec.get("motion"), "pick": spec.get("pick"),
                "duration": round(spec.get("frames", 0) / fps, 3),
                **({"clip_takes": spec["clip_takes"], "clip_pick": spec.get("clip_pick")}
                   if "clip_takes" in spec else {})}
    if name == "narration_spec":
        return {"narration": spec.get("text") or "", "voice": spec.get("voice")}
    if name == "upscale_spec":
        return {"upscale": spec.get("factor")}
    return {}


def _said(error: BaseException) -> str:
    return str(error) or type(error).__name__
