"""The `film` command: render, plan, status and verify of a film; takes, pick, history, rollback
and cost for curating it; `film ui` for Dagster's UI; `film workers` for Celery workers on this
machine; `film models` and `film doctor` for what this machine has and lacks.

Exit codes (film_pipeline.errors): 0 success; 1 a render step failed (the summary names the shot),
or `verify` found damage it did not repair; 2 bad input (film.yaml, profile, arguments); 3 another
render holds FILM_HOME; 4 the object store is down or refuses the credentials; 5 the Celery
workers or their broker cannot be used; 6 FILM_HOME or the store's directory cannot be written
(disk full, read-only, no permission, or FILM_HOME damaged); 130 interrupted (Ctrl-C). Errors are one clear message,
never a traceback; nothing already rendered is ever deleted.
"""

import argparse
import atexit
import json
import logging
import os
import sys
import warnings
from pathlib import Path

from film_pipeline import errors, heap

STATUS_MARK = {"fresh": "✓ fresh", "stale": "↻ stale", "missing": "+ missing"}
RESUME = "finished steps are kept, run the same command to resume"


def run() -> None:
    """The `film` command (`python -m film_pipeline.cli` too): `main`, then an exit that leaves the
    interpreter's teardown to the operating system. After a render, Python spent about 2 s freeing
    torch's and Dagster's objects one by one (measured on an 8-shot edit: 2.5 s between the last
    exit handler and the process's end, 0.14 s without the teardown), which the OS does at once.
    Every exit handler still runs first, threads are joined and the output is flushed; an error
    that escapes `main` takes Python's ordinary exit, with its traceback. Imports pause the garbage
    collector and freeze what they made (film_pipeline.heap): 0.9 s of an 8-shot edit."""
    heap.collect_around_imports()
    status: list[int] = []
    atexit.register(_exit_now, status)  # registered first, so it runs after every other exit handler
    status.append(main() or 0)
    sys.exit(status[0])


def _exit_now(status: list[int]) -> None:
    if status:
        logging.shutdown()  # a handler registered before this one would not run: flush the logs here
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a reader gone (`film status | head`), a stream closed
                pass
        os._exit(status[0])


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    warnings.filterwarnings("ignore")  # Dagster's beta/preview notices are not for film-makers
    if getattr(args, "no_progress", False):
        # every bar in the process, the models' own too (transformers draws one converting GGUF weights);
        # tqdm reads it when it is first imported, which no command has done yet
        os.environ["TQDM_DISABLE"] = "1"
    from film_pipeline.workers import WorkerConfigError, WorkerSettings

    try:
        WorkerSettings.from_env()  # read when the graph is built: name a bad FILM_* value before that
    except WorkerConfigError as error:
        return _fail(error, errors.WORKERS)
    from film_pipeline.film import FilmError
    from film_pipeline.profiles import ProfileError
    from film_pipeline.defs.jobs import ObservationError
    from film_pipeline.curation import CurationError
    from film_pipeline.home import HomeError, check_home, film_home
    from film_pipeline.planning import ForceError
    from film_pipeline.render import RenderBusyError
    from film_pipeline.store.s3 import StoreAuthError, StoreUnavailableError

    try:
        check_home()
        return args.handler(args)
    except HomeError as error:
        return _fail(error, errors.CANNOT_WRITE)
    except (FilmError, ProfileError, ObservationError, CurationError, ForceError) as error:
        return _fail(error, errors.BAD_INPUT)
    except (StoreUnavailableError, StoreAuthError) as error:
        return _fail(error, errors.STORE)
    except WorkerConfigError as error:
        return _fail(error, errors.WORKERS)
    except RenderBusyError as error:
        return _fail(error, errors.BUSY)
    except KeyboardInterrupt:
        print(f"film: interrupted; {RESUME}", file=sys.stderr)
        return errors.INTERRUPTED
    except BrokenPipeError:  # `film ... | head`: the reader has all it wants; say nothing more

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit stays quiet
        return errors.STEP_FAILED
    except Exception as error:
        problem = errors.cannot_write(error, film_home())
        if problem is not None:
            return _fail(problem, errors.CANNOT_WRITE)
        return _unexpected(args.command, error)


def _unexpected(command: str, error: Exception) -> int:
    """A failure nobody foresaw: one line that names the command and the error, the traceback
    only when asked for (FILM_DEBUG=1). Nothing rendered is lost: renders write before they record."""
    import traceback

    if os.environ.get("FILM_DEBUG"):
        traceback.print_exception(error)
    said = (str(error).splitlines() or [""])[0][:300]
    print(f"film: `film {command}` failed unexpectedly ({type(error).__name__}{': ' + said if said else ''}); "
          f"this is a bug in film: please report it, with the output of the same command run with FILM_DEBUG=1. "
          f"Nothing already rendered is lost", file=sys.stderr)
    return errors.STEP_FAILED


def _fail(error: BaseException, code: int) -> int:
    print(f"film: {error}", file=sys.stderr)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="film", description="Render films from film.yaml through Dagster.")
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="render what is missing or out of date")
    render.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    render.add_argument("--force", action="append", default=[], metavar="SHOT|ASSET[SHOT]",
                        help="re-render this shot (all its assets), ASSET[SHOT] or an asset, whatever the store "
                             "holds, and what depends on it; repeatable")
    render.set_defaults(handler=_render)
    verify = commands.add_parser("verify", help="re-hash every current artifact; --repair re-renders damaged ones")
    verify.add_argument("--repair", action="store_true",
                        help="move damaged files to the store's attic (kept as evidence) and re-render them")
    verify.add_argument("--no-progress", action="store_true", help="no progress bar on stderr (with --repair)")
    verify.set_defaults(handler=_verify)
    plan = commands.add_parser("plan", help="what `render` would do, without doing it")
    plan.set_defaults(handler=_plan)
    status = commands.add_parser("status", help="every asset and shot as fresh, stale or missing")
    status.set_defaults(handler=_status)
    store = commands.add_parser("store", help="a local S3 server (SeaweedFS) under $FILM_HOME")
    store.add_argument("action", choices=("up", "down", "status", "env"))
    store.add_argument("--port", type=int, help="S3 port for `up` (default: a free one)")
    store.set_defaults(handler=_store)
    workers = commands.add_parser("workers", help="Celery workers on this machine (and a Redis broker) for renders")
    workers.add_argument("action", choices=("up", "down", "status", "env"))
    workers.add_argument("count", type=int, nargs="?", default=2, help="how many workers `up` starts (default 2)")
    workers.add_argument("--port", type=int, help="Redis port for `up` when FILM_BROKER is unset (default: a free one)")
    workers.set_defaults(handler=_workers)
    share = commands.add_parser("share", help="a presigned link to the film's final cut (S3 store)")
    share.add_argument("film_dir", type=Path)
    share.add_argument("--hours", type=float, default=72.0, help="how long the link works (default 72)")
    share.set_defaults(handler=_share)
    ui = commands.add_parser("ui", help="Dagster's UI, sensors and schedules for the films under $FILM_HOME")
    ui.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    ui.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    ui.set_defaults(handler=_ui)
    review = commands.add_parser("review", help="the review room: a local page to watch the cut, compare takes, "
                                                "pick, re-roll and edit shots")
    review.add_argument("film_dir", type=Path, help="the film's directory (holding film.yaml)")
    review.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    review.add_argument("--port", type=int, default=3300, help="port (default 3300; 0: any free one)")
    review.add_argument("--dagster-url", default="http://127.0.0.1:3000",
                        help="where Dagster's UI is (`film ui`), for links to runs (default http://127.0.0.1:3000)")
    review.set_defaults(handler=_review)
    takes = commands.add_parser("takes", help="a shot's takes with their scores, and the contact sheet's path")
    takes.add_argument("film_dir", type=Path, help="the film\'s directory (holding film.yaml)")
    takes.add_argument("shot")
    takes.set_defaults(handler=_takes)
    pick = commands.add_parser("pick", help="use take N of a shot (0: the best-scoring), then render")
    pick.add_argument("film_dir", type=Path, help="the film\'s directory (holding film.yaml)")
    pick.add_argument("shot")
    pick.add_argument("take", type=int)
    pick.add_argument("--clip", action="store_true", help="pick among the clip takes (`clip_takes:`)")
    pick.set_defaults(handler=_pick)
    history = commands.add_parser("history", help="every version of every artifact (of one shot), oldest first")
    history.add_argument("film_dir", type=Path, help="the film\'s directory (holding film.yaml)")
    history.add_argument("shot", nargs="?")
    history.set_defaults(handler=_history)
    rollback = commands.add_parser("rollback", help="restore a shot's film.yaml spec from a version, then render")
    rollback.add_argument("film_dir", type=Path, help="the film\'s directory (holding film.yaml)")
    rollback.add_argument("shot")
    rollback.add_argument("--to", required=True, metavar="VERSION", help="a data version from `film history`")
    rollback.set_defaults(handler=_rollback)
    cost = commands.add_parser("cost", help="compute seconds and money per stage, per shot and per finished minute")
    cost.add_argument("film_dir", type=Path, help="the film\'s directory (holding film.yaml)")
    cost.add_argument("--gpu-hour", type=float, help="USD per GPU-hour (default $FILM_GPU_HOUR_PRICE or 2.00)")
    cost.add_argument("--cpu-hour", type=float, help="USD per CPU-hour (default $FILM_CPU_HOUR_PRICE or 0.10)")
    cost.set_defaults(handler=_cost)
    models = commands.add_parser("models", help="the checkpoints a profile needs, which are on disk, how to get "
                                                "the rest")
    models.add_argument("--profile", default="preview", help="model profile (default: preview)")
    models.add_argument("--json", action="store_true", help="one JSON document on stdout")
    models.set_defaults(handler=_models)
    doctor = commands.add_parser("doctor", help="check that this machine can render (exit 0 when `preview` can run)")
    doctor.add_argument("--json", action="store_true", help="one JSON document on stdout")
    doctor.set_defaults(handler=_doctor)
    export = commands.add_parser("export", help="the cut as an editor's timeline: OpenTimelineIO, CMX 3600 EDL, "
                                                "FCP 7 XML or Kdenlive (renders what is out of date first)")
    export.add_argument("film_dir", type=Path, help="the film's directory (holding film.yaml)")
    export.add_argument("--to", required=True, choices=("otio", "edl", "fcp7", "kdenlive"), help="the format")
    export.add_argument("--out", type=Path, help="where to write it (default: $FILM_HOME/exports/<film>.<ext>)")
    export.add_argument("--json", action="store_true", help='print {"path": ..., "format": ...}')
    export.add_argument("--profile", help="model profile for the render (default: the film's `profile:`)")
    export.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    export.set_defaults(handler=_export)
    new = commands.add_parser("new", help="write a new film.yaml: from a Fountain screenplay, a logline, or a "
                                          "commented template")
    new.add_argument("film_dir", type=Path, help="the film's directory (made if missing)")
    origin = new.add_mutually_exclusive_group()
    origin.add_argument("--from", dest="script", type=Path, metavar="SCRIPT.fountain",
                        help="import a Fountain screenplay: scenes, action, dialogue, transitions")
    origin.add_argument("--logline", help="the profile's language model writes a shot list from this sentence")
    new.add_argument("--shots", type=int, help="how many shots --logline writes (default 4, at most 20)")
    new.add_argument("--seed", type=int, help="the film's seed (--logline: the same seed writes the same film)")
    new.add_argument("--profile", help="model profile the film uses (default: preview): its voices, its language model")
    new.add_argument("--force", action="store_true", help="replace an existing film.yaml (kept as film.yaml.bak-<time>)")
    new.add_argument("--json", action="store_true", help="one JSON document on stdout")
    new.set_defaults(handler=_new)
    for command in (render, plan, status, verify):
        command.add_argument("film_dir", type=Path, help="the film's directory (holding film.yaml)")
    for command in (render, plan, status, verify, takes, pick, history, rollback, cost):
        command.add_argument("--json", action="store_true", help="one JSON document on stdout")
    for command in (render, plan, status, verify, pick, rollback):
        command.add_argument("--profile", help="model profile for this run (default: the film's `profile:`)")
    for command in (pick, rollback):
        command.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


class _Progress:
    """A bar per render on stderr: one tick per step, the step running named, an estimate of the
    time left; steps run elsewhere (Celery workers) tick when their run ends."""

    def __init__(self, disabled: bool):
        self.disabled, self.bar, self.ticked = disabled, None, 0

    def on_plan(self, plan) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=len(plan.planned), desc=f"render {plan.film}", unit="step", file=sys.stderr,
                        disable=self.disabled, dynamic_ncols=True)
        if not plan.planned:
            self.bar.set_postfix_str("up to date")

    def on_step(self, event: str, asset: str, shot: str | None) -> None:
        if self.bar is None:
            return
        if event == "started":
            self.bar.set_postfix_str(f"{asset}[{shot}]" if shot else asset)
        else:
            self.ticked += 1
            self.bar.update(1)

    def on_run(self, label: str, steps: int) -> None:
        self.bar.set_postfix_str(f"{label} done")
        self.bar.update(max(0, steps - self.ticked))  # what no step reported (a failure, or a worker's)
        self.ticked = 0

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _render(args) -> int:
    from film_pipeline.render import render_film

    progress = _Progress(args.no_progress)
    try:
        result = render_film(args.film_dir, args.profile, on_run=progress.on_run, on_plan=progress.on_plan,
                             on_step=progress.on_step, force=getattr(args, "force", []))
    finally:
        progress.close()
    if args.json:
        print(json.dumps(render_summary(result), indent=1))
    elif not result.failures:
        done = f"{len(result.materialized)} step(s) rendered" if result.materialized else "already up to date"
        cut = f"final cut: {result.final_cut}" if result.final_cut else "the final cut waits for the runs in flight"
        print(f"{result.film}: {done}; {cut}")
    return _report_problems(result, args.json)


def render_summary(result) -> dict:
    return {
        "film": result.film,
        "materialized": [{"asset": a, "partition": p} for a, p in result.materialized],
        "final_cut": str(result.final_cut) if result.final_cut else None,
        "subtitles": {kind: str(path) for kind, path in result.subtitles.items()} if result.subtitles else None,
        "failed": [{"step": step, "error": error} for step, error in result.failures],
        "warnings": [{"check": check, "found": found} for check, found in result.warnings],
        "skipped": [{"what": what, "why": why} for what, why in result.skipped],
    }


def _export(args) -> int:
    """Bring the film up to date (its timeline export is an asset), then write the export for this
    machine: every clip pointing at the stored file as this machine has it (an S3 store's fetched
    into the local cache first)."""
    from film_pipeline import exports
    from film_pipeline.film import load_film
    from film_pipeline.home import film_home
    from film_pipeline.render import open_session, render_film
    from film_pipeline.store import open_store

    film = load_film(args.film_dir)
    try:
        exports.check_format(args.to, film.fps)
    except exports.ExportError as error:
        return _fail(error, errors.BAD_INPUT)
    progress = _Progress(args.no_progress)
    try:
        result = render_film(args.film_dir, args.profile, on_run=progress.on_run, on_plan=progress.on_plan,
                             on_step=getattr(progress, "on_step", None))
    finally:
        progress.close()
    if result.failures or result.final_cut is None:
        code = _report_problems(result, args.json)
        if code == errors.OK:
            print(f"film: {result.film} has no current cut to export yet; run the same command again", file=sys.stderr)
        return code or errors.STEP_FAILED
    session, store = open_session(args.film_dir, args.profile), open_store()
    stored = store.read_json(session.graph.latest_manifest_key(session.instance, "timeline_export", None))["files"]["otio"]
    timeline = exports.read(store.local_path(stored["key"], stored["sha256"]))
    out = args.out or film_home() / "exports" / f"{session.graph.slug}{exports.FORMATS[args.to][0]}"
    out.parent.mkdir(parents=True, exist_ok=True)
    exports.write(exports.localize(timeline, store.local_path), args.to, out)
    if args.json:
        print(json.dumps({"path": str(out.absolute()), "format": args.to}))
    else:
        print(f"{result.film}: {exports.FORMATS[args.to][1]} written to {out}")
    return errors.OK


def _report_problems(result, quiet_warnings: bool) -> int:
    """Warnings, what was left to runs in flight, and failures on stderr; the exit code they make."""
    if not quiet_warnings:
        for check, found in result.warnings:
            print(f"film: warning: {check}: {found}", file=sys.stderr)
    for what, why in result.skipped:
        print(f"film: skipped {what}: {why}; run the same command after it finishes", file=sys.stderr)
    if not result.failures:
        return errors.OK
    print(f"film: {len(result.failures)} step(s) failed; the other shots are kept, fix and run again to resume:",
          file=sys.stderr)
    for step, error in result.failures:
        print(f"  {step}: {error}", file=sys.stderr)
    kinds = {errors.failure_kind(error) for _, error in result.failures}
    for code in (errors.CANNOT_WRITE, errors.STORE):
        if code in kinds:  # not the shot's fault: the code says what to fix
            return code
    return errors.STEP_FAILED


def _verify(args) -> int:
    from film_pipeline.verify import verify_film

    progress = _Progress(args.no_progress)
    try:
        report = verify_film(args.film_dir, repair=args.repair, profile=args.profile,
                             on_plan=progress.on_plan, on_run=progress.on_run)
    finally:
        progress.close()
    if args.json:
        print(json.dumps(report.as_dict(), indent=1))
    else:
        _print_verification(report, args.film_dir)
    if report.render is not None and report.render.failures:
        return _report_problems(report.render, args.json)
    return errors.OK if report.intact else errors.STEP_FAILED


def _print_verification(report, film_dir: Path) -> None:
    for damage in report.damaged:
        fixed = report.render is not None and damage not in report.remaining
        print(f"{damage.label}: {damage.key} is {damage.problem}" + ("; repaired" if fixed else ""))
    if report.moved:
        print(f"the damaged files are kept in the store, under {'/'.join(report.moved[0].split('/')[:2])}/")
    if not report.damaged:
        print(f"{report.film}: {report.checked} artifact version(s) re-hashed, all intact")
    elif report.render is None:
        print(f"film: {len(report.damaged)} damaged; `film verify {film_dir} --repair` moves them aside and "
              f"re-renders them", file=sys.stderr)
    elif report.remaining:
        print(f"film: {len(report.remaining)} still damaged after the repair", file=sys.stderr)


def _plan(args) -> int:
    from film_pipeline.render import current_plan

    _, plan = current_plan(args.film_dir, args.profile)
    if args.json:
        print(json.dumps({"film": plan.film, "render": [s.as_dict() for s in plan.planned]}, indent=1))
        return 0
    if not plan.planned:
        print(f"{plan.film}: up to date, nothing to render")
    for state in plan.planned:
        print(f"{state.asset}{f'[{state.partition}]' if state.partition else ''}: {state.status}"
              + (f" ({state.reason})" if state.reason else ""))
    return 0


def _status(args) -> int:
    from film_pipeline.render import current_plan

    _, plan = current_plan(args.film_dir, args.profile)
    if args.json:
        print(json.dumps({"film": plan.film, "assets": [s.as_dict() for s in plan.states]}, indent=1))
        return 0
    shots = list(dict.fromkeys(s.partition for s in plan.states if s.partition))
    per_shot = {(s.asset, s.partition): s.status for s in plan.states}
    from film_pipeline.graph import SHOT_ASSETS

    width = max([len(s) for s in shots] + [4])
    print(f"{'shot'.ljust(width)}  " + "  ".join(a.ljust(13) for a in SHOT_ASSETS))
    for shot in shots:
        print(f"{shot.ljust(width)}  " + "  ".join(STATUS_MARK[per_shot[(a, shot)]].ljust(13) for a in SHOT_ASSETS))
    for state in plan.states:
        if state.partition is None:
            print(f"{state.asset}: {STATUS_MARK[state.status]}" + (f" ({state.reason})" if state.reason else ""))
    return 0


def _store(args) -> int:
    from film_pipeline import seaweed
    from film_pipeline.home import film_home

    root = film_home() / "seaweedfs"
    if args.action == "up":
        server = seaweed.start(root, args.port)
        print(f"S3 store up at http://{server.endpoint} (pid {server.pid}), data in {root / 'data'}\n"
              f"use it with:  source {root / 'env'}   (or: eval \"$(film store env)\")")
    elif args.action == "down":
        print("stopped" if seaweed.stop(root) else "not running")
    elif args.action == "status":
        server = seaweed.status(root)
        print(f"running at http://{server.endpoint} (pid {server.pid})" if server else "not running")
        return 0 if server else 1
    else:  # env: the exports, keys included, for `eval`
        server = seaweed.status(root)
        if not server:
            print("film: the local store is not running; `film store up` first", file=sys.stderr)
            return 1
        _print_exports(server.env())
    return 0


def _print_exports(env: dict[str, str]) -> None:
    """`export NAME=value` lines for `eval` (secrets included: printed only when asked for)."""
    print("".join(f"export {k}={v}\n" for k, v in env.items()), end="")


def _workers(args) -> int:
    from film_pipeline import local_workers

    if args.action == "up":
        workers = local_workers.up(args.count, args.port)
        print(f"{len(workers.workers)} workers up ({', '.join(workers.workers)}), logs in {local_workers.workers_dir()}\n"
              f"render through them with:  eval \"$(film workers env)\"; film render FILM_DIR")
    elif args.action == "down":
        print("stopped" if local_workers.down() else "not running")
    elif args.action == "status":
        return _worker_status(local_workers.status())
    else:  # env: the exports, for `eval`
        workers = local_workers.status()
        if not workers:
            print("film: no workers are up; `film workers up N` first", file=sys.stderr)
            return 1
        _print_exports(workers.env())
    return 0


def _worker_status(workers) -> int:
    from dataclasses import replace

    from film_pipeline.processes import alive
    from film_pipeline.workers import WorkerSettings, require_workers

    if workers is None:
        print("no workers started by `film workers up` are running")
        return 1
    served = require_workers(replace(WorkerSettings.from_env(), broker=workers.broker))
    for name, pid in workers.workers.items():
        state = f"queues {', '.join(served[name])}" if name in served else ("not answering" if alive(pid) else "gone")
        print(f"{name}  pid {pid}  {state}")
    return 0


def _share(args) -> int:
    from datetime import timedelta

    from film_pipeline.render import final_cut_key, open_session
    from film_pipeline.store import open_store

    store = open_store()
    if not hasattr(store, "share_url"):
        print("film: sharing needs the S3 store (set FILM_STORE=s3://... and FILM_S3_*; `film store up` for a local one)",
              file=sys.stderr)
        return 2
    key = final_cut_key(open_session(args.film_dir))
    if key is None:
        print(f"film: {args.film_dir} has no final cut yet; `film render {args.film_dir}` first", file=sys.stderr)
        return 1
    print(store.share_url(key, timedelta(hours=args.hours)))
    return 0


def _takes(args) -> int:
    from film_pipeline.curation import takes

    found = takes(args.film_dir, args.shot)
    if args.json:
        print(json.dumps({"shot": found["shot"], "sheet": str(found["sheet"]), **{
            kind: [{"take": t.take, "total": t.total, "scores": t.scores, "path": str(t.path), "best": t.best, "used": t.used}
                   for t in found[kind]] for kind in ("keyframes", "clips")}}, indent=1))
        return 0
    print(f"contact sheet: {found['sheet']}")
    for kind in ("keyframes", "clips"):
        if found[kind]:
            print(f"{kind}:")
        for t in found[kind]:
            marks = ", ".join(m for m, on in (("best", t.best), ("in use", t.used)) if on)
            detail = " ".join(f"{k}={v:.3f}" for k, v in t.scores.items() if k != "total")
            print(f"  take {t.take}: {t.total:.3f}  ({detail}){f'  [{marks}]' if marks else ''}  {t.path}")
    return 0


def _pick(args) -> int:
    from film_pipeline.curation import pick

    pick(args.film_dir, args.shot, args.take, clip=args.clip)
    return _render_the_edit(args)


def _render_the_edit(args) -> int:
    """Render what pick or rollback wrote; a render that started in between is not an error in
    the edit: film.yaml is changed, and the next render picks it up."""
    from film_pipeline.render import RenderBusyError

    try:
        return _render(args)
    except RenderBusyError as error:
        print(f"film: {args.film_dir}/film.yaml is changed, but not rendered yet: {error}; then run "
              f"`film render {args.film_dir}`", file=sys.stderr)
        return errors.BUSY


def _history(args) -> int:
    from film_pipeline.curation import history

    rows = history(args.film_dir, args.shot)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for row in rows:
        where = f"{row['asset']}[{row['shot']}]" if row["shot"] else row["asset"]
        prompt = f"  \"{row['prompt'][:50]}\"" if row.get("prompt") else ""
        print(f"{row['time']}  {where:<22} {row['version']}  {'reused ' if row['reused'] else 'rendered'}"
              f"  seed={row['seed']}  {row['profile'] or ''}{prompt}  {row['uri']}")
    return 0


def _rollback(args) -> int:
    from film_pipeline.curation import rollback

    changes = rollback(args.film_dir, args.shot, args.to)
    print(f"{args.shot}: restored {', '.join(f'{k}={v!r}' for k, v in changes.items()) or 'nothing (already as it was)'}",
          file=sys.stderr)
    return _render_the_edit(args)


def _cost(args) -> int:
    from film_pipeline.cost import Prices, cost_report
    from film_pipeline.render import open_session

    session = open_session(args.film_dir)
    env = Prices.from_env()
    prices = Prices(args.gpu_hour if args.gpu_hour is not None else env.gpu_hour,
                    args.cpu_hour if args.cpu_hour is not None else env.cpu_hour)
    report = cost_report(session.instance, session.graph, [s.id for s in session.film.shots], prices).as_dict()
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    current, spent = report["current"], report["spent"]
    print(f"{report['film']}: ${prices.gpu_hour:.2f}/GPU-hour, ${prices.cpu_hour:.2f}/CPU-hour")
    print(f"the film as it stands: {current['total']['seconds']:.1f} s, ${current['total']['usd']:.4f}"
          + (f", ${current['usd_per_finished_minute']:.4f} per finished minute" if current["usd_per_finished_minute"] else ""))
    for title, rows in (("per stage", current["per_stage"]), ("per shot", current["per_shot"])):
        print(f"  {title}:")
        for name, total in rows.items():
            print(f"    {name:<16} {total['seconds']:>9.1f} s  ${total['usd']:.4f}")
    print(f"spent so far: {spent['total']['seconds']:.1f} s, ${spent['total']['usd']:.4f} in {spent['renders']} renders")
    return 0


def _models(args) -> int:
    from film_pipeline import inventory

    needs = inventory.inventory(args.profile)
    if args.json:
        print(json.dumps(inventory.report(args.profile, needs), indent=1))
    else:
        print(inventory.table(args.profile, needs))
    return 0


def _doctor(args) -> int:
    from film_pipeline import doctor

    checks = doctor.run_checks()
    if args.json:
        print(json.dumps(doctor.report(checks), indent=1))
    else:
        print(doctor.table(checks))
    ok = all(check.ok for check in checks)
    if not args.json:  # the summary: on stdout when the default profile can run, else the `film:` line on stderr
        print(doctor.summary(checks) if ok else f"film: {doctor.summary(checks)}", file=sys.stdout if ok else sys.stderr)
    return errors.OK if ok else errors.STEP_FAILED


def _review(args) -> int:
    from urllib.parse import urlsplit

    from film_pipeline import review

    if not 0 <= args.port <= 65535:
        print(f"film: --port {args.port}: a port is 0 to 65535 (0: any free one)", file=sys.stderr)
        return errors.BAD_INPUT
    try:
        url = urlsplit(args.dagster_url)
        valid_url = url.scheme in ("http", "https") and bool(url.hostname) and (url.port or 0) >= 0
    except ValueError:  # a port that is no number, or out of range
        valid_url = False
    if not valid_url or any(ord(c) < 33 for c in args.dagster_url):
        print(f"film: --dagster-url {args.dagster_url!r}: give the address of Dagster's UI, such as "
              f"http://127.0.0.1:3000", file=sys.stderr)
        return errors.BAD_INPUT
    try:
        return review.serve(args.film_dir, host=args.host, port=args.port, dagster_url=args.dagster_url)
    except review.ServeError as error:
        return _fail(error, errors.BAD_INPUT)


def _new(args) -> int:
    from film_pipeline.writers_room import new_film

    made = new_film(args.film_dir, script=args.script, logline=args.logline, shots=args.shots, seed=args.seed,
                    profile=args.profile, force=args.force)
    if args.json:
        print(json.dumps(made.as_dict(), indent=1))
        return errors.OK
    for warning in made.warnings:
        print(f"film: warning: {_printable(warning)}", file=sys.stderr)
    if made.backup:
        print(f"film: the film.yaml that was there is kept as {_printable(made.backup)}", file=sys.stderr)
    cast = f", {len(made.characters)} character(s)" if made.characters else ""
    origin = {"template": "the template", "logline": "the logline"}.get(made.source, _printable(made.source))
    print(f"{_printable(made.path)}: {made.shots} shot(s){cast}, from {origin}; render it with "
          f"`film render {_printable(made.path.parent)}`")
    return errors.OK


def _printable(value) -> str:
    """A path or text as the terminal can show it (bytes that are not UTF-8 as \\xNN)."""
    try:
        return os.fsencode(str(value)).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no file name holds
        return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def _ui(args) -> int:
    from film_pipeline.ui import serve

    return serve(args.host, args.port)


if __name__ == "__main__":
    run()
