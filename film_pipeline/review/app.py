"""The review room's web app: Starlette, Jinja2 templates and a little vanilla JS (static/).

Pages and fragments (GET): `/` the page (the cut, the shot strip, the selected shot, the
renders), `/fragments/strip`, `/fragments/shot/{shot}`, `/fragments/compare?shot=&a=ASSET:VERSION&b=...`.
JSON (GET): `/api/status` (statuses, what renders now, the jobs and their Dagster runs, polled by
the page), `/api/shots/{shot}`. Media (GET, Range requests work): `/media/{asset}/{shot}/{version}/{role}`,
`_` for a film-level asset's shot: the file the version's manifest lists under `role`, nothing else.
Actions (POST, JSON in and out, 202 with the queued job, 400 with the error): `/api/pick`
{shot, take, clip}, `/api/more-takes` {shot, more}, `/api/edit` {shot, prompt, narration, camera},
`/api/rollback` {shot, version}, `/api/render` {}.

Safety (`Guard`): every request must name this machine in `Host` (an IP address, `localhost` or
the host it was bound to: a DNS-rebinding page is refused); every write is a POST with the
page's token in `X-Review-Token`, `Content-Type: application/json`, and, where the browser sends
`Origin` (or `Sec-Fetch-Site`), the page's own origin. Pages may not be framed (no clickjacking).
"""

import html
import ipaddress
import json
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from film_pipeline import curation
from film_pipeline.film import FilmError
from film_pipeline.review.room import VERSION, NotFound, ReviewRoom

HERE = Path(__file__).resolve().parent
TOKEN_HEADER = "x-review-token"
MAX_BODY = 256 * 1024  # an action's JSON: a shot's prompt and narration at most
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                               "form-action 'self'",
    "x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}
BAD_INPUT = (FilmError, curation.CurationError)


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def create_app(room: ReviewRoom, token: str | None = None, bound_host: str = "127.0.0.1") -> "Guard":
    """The app for one film's review room; `token` guards its writes (a new random one by default)."""
    token = token or secrets.token_urlsafe(32)
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    def page(request: Request) -> Response:
        overview = room.overview()
        selected = request.query_params.get("shot") or (overview["shots"][0]["id"] if overview["shots"] else None)
        try:
            shot = _or_none(room.shot, selected) if selected else None
        except FilmError:
            shot = None  # the banner says what is wrong with film.yaml
        return templates.TemplateResponse(request, "index.html", {"film": overview, "shot": shot, "token": token})

    def strip(request: Request) -> Response:
        return templates.TemplateResponse(request, "strip.html", {"film": room.overview()})

    def shot_fragment(request: Request) -> Response:
        shot = _found(room.shot, request.path_params["shot"])
        return templates.TemplateResponse(request, "shot.html", {"shot": shot})

    def cut_fragment(request: Request) -> Response:
        return templates.TemplateResponse(request, "cut.html", {"film": room.overview()})

    def compare(request: Request) -> Response:
        shot = request.query_params.get("shot", "")
        sides = []
        for name in ("a", "b"):
            asset, _, version = request.query_params.get(name, "").partition(":")
            sides.append(_found(room.version, asset, shot, version))
        keys = list(dict.fromkeys([*sides[0]["fields"], *sides[1]["fields"]]))
        return templates.TemplateResponse(request, "compare.html", {"shot": shot, "sides": sides, "keys": keys})

    def status(request: Request) -> Response:
        return JSONResponse(room.status())

    def shot_json(request: Request) -> Response:
        return JSONResponse(_found(room.shot, request.path_params["shot"]))

    def media(request: Request) -> Response:
        params = request.path_params
        shot = None if params["shot"] == "_" else params["shot"]
        path, kind = _found(room.media, params["asset"], shot, params["version"], params["role"])
        return FileResponse(path, media_type=kind, headers={"cache-control": "private, max-age=31536000, immutable"})

    async def action(request: Request, make) -> Response:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return JSONResponse({"error": f"the request body is over {MAX_BODY} bytes"}, status_code=413)
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, RecursionError):
            return JSONResponse({"error": "the request body is not JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the request body must be a JSON object"}, status_code=400)
        try:
            label, shot, apply = await run_in_threadpool(make, body)
        except BAD_INPUT as error:  # nothing was written: the message names film.yaml's line where there is one
            return JSONResponse({"error": str(error)}, status_code=400)
        except (KeyError, TypeError, ValueError) as error:
            return JSONResponse({"error": f"bad request: {error}"}, status_code=400)
        job = room.submit(label, shot, apply)
        return JSONResponse(job.as_dict(room.dagster_url), status_code=202)

    def validated(check):
        """Check the edit now, writing nothing (the page shows a refusal at once); the render
        queue applies it for real, checked again, in its turn."""
        with room.edit_lock:
            return check()

    async def pick(request: Request) -> Response:
        def make(body):
            shot, take, clip = _text(body, "shot"), _int(body, "take"), bool(body.get("clip", False))
            validated(lambda: curation.pick(room.film_dir, shot, take, clip=clip, dry_run=True))
            return (f"Use {'clip ' if clip else ''}take {take} of {shot}", shot,
                    lambda: curation.pick(room.film_dir, shot, take, clip=clip))
        return await action(request, make)

    async def more_takes(request: Request) -> Response:
        def make(body):
            shot, more = _text(body, "shot"), _int(body, "more", 2)
            count = validated(lambda: curation.more_takes(room.film_dir, shot, more, dry_run=True))
            return f"More takes of {shot} ({count})", shot, lambda: curation.more_takes(room.film_dir, shot, more)
        return await action(request, make)

    async def edit(request: Request) -> Response:
        def make(body):
            shot = _text(body, "shot")
            fields = {key: body[key] for key in curation.EDITABLE_FIELDS if key in body}
            if not fields:
                raise curation.CurationError(f"nothing to edit: send one of {', '.join(curation.EDITABLE_FIELDS)}")
            changes = validated(lambda: curation.edit_fields(room.film_dir, shot, fields, dry_run=True))
            return (f"Edit {shot}: {', '.join(changes) or 'no change'}", shot,
                    lambda: curation.edit_fields(room.film_dir, shot, fields))
        return await action(request, make)

    async def rollback(request: Request) -> Response:
        def make(body):
            shot, version = _text(body, "shot"), _text(body, "version")
            if not VERSION.fullmatch(version):
                raise curation.CurationError(f"`{version[:80]}` is not a version; `film history` lists them")
            validated(lambda: curation.rollback(room.film_dir, shot, version, dry_run=True))
            return f"Roll {shot} back to {version[:8]}", shot, lambda: curation.rollback(room.film_dir, shot, version)
        return await action(request, make)

    async def render(request: Request) -> Response:
        return await action(request, lambda body: ("Render what is stale", None, None))

    async def not_found(request: Request, exc) -> Response:
        return PlainTextResponse("not found", status_code=404)

    async def film_error(request: Request, exc) -> Response:
        """film.yaml was broken elsewhere: say where (the page keeps polling, and redraws once it is fixed)."""
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=409)
        return HTMLResponse(f'<p class="error" role="alert">{html.escape(str(exc))}</p>', status_code=200)

    routes = [
        Route("/", page), Route("/fragments/strip", strip), Route("/fragments/cut", cut_fragment),
        Route("/fragments/shot/{shot}", shot_fragment), Route("/fragments/compare", compare),
        Route("/api/status", status), Route("/api/shots/{shot}", shot_json),
        Route("/api/pick", pick, methods=["POST"]), Route("/api/more-takes", more_takes, methods=["POST"]),
        Route("/api/edit", edit, methods=["POST"]), Route("/api/rollback", rollback, methods=["POST"]),
        Route("/api/render", render, methods=["POST"]),
        Route("/media/{asset}/{shot}/{version}/{role}", media),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, NotFound: not_found, FilmError: film_error})
    return Guard(app, token, bound_host)


def _found(function, *args):
    try:
        return function(*args)
    except NotFound:
        raise HTTPException(404) from None


def _or_none(function, *args):
    try:
        return function(*args)
    except NotFound:
        return None


def _text(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise curation.CurationError(f"`{key}` is missing (text)")
    return value


def _int(body: dict, key: str, default: int | None = None) -> int:
    value = body.get(key, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise curation.CurationError(f"`{key}` must be a whole number")
    return value


def local_host(host_header: str, bound_host: str) -> bool:
    """Whether a Host header names this machine the way a local page does: an IP address,
    `localhost`, or the host the server was bound to. A name that merely resolves here (a DNS
    rebinding attack's) is refused."""
    name = urlsplit(f"//{host_header}").hostname if host_header else None
    if not name:
        return False
    if name in ("localhost", bound_host.strip("[]").lower()):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """ASGI middleware: Host, cross-site and token checks; security headers on every answer."""

    def __init__(self, app, token: str, bound_host: str):
        self.app, self.token, self.bound_host = app, token, bound_host

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self.check(scope)
        except Refused as refused:
            response = JSONResponse({"error": str(refused)}, status_code=refused.status)
            await response(scope, receive, self._with_headers(send))
            return
        await self.app(scope, receive, self._with_headers(send))

    def check(self, scope) -> None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not local_host(host, self.bound_host):
            raise Refused(400, f"this server answers requests to this machine only, not to host {host!r}")
        if scope["method"] in ("GET", "HEAD"):
            return
        origin = headers.get("origin")
        if origin is not None and origin != f"http://{host}":
            raise Refused(403, f"cross-site request refused (origin {origin})")
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            raise Refused(403, "cross-site request refused")
        if not secrets.compare_digest(headers.get(TOKEN_HEADER, "").encode(), self.token.encode()):
            raise Refused(403, "missing or wrong review token: reload the page")
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise Refused(415, "send JSON (Content-Type: application/json)")

    @staticmethod
    def _with_headers(send):
        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)
        return sending
