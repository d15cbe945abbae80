"""`film review FILM_DIR`: the review room, a local page for the director.

The cut in a video player (with its subtitles when the cut has them), the shots in film order
with their status, every keyframe take and clip take of a shot with its score (the best starred,
the one in use marked), and the actions: use a take, more takes, edit a shot's prompt, narration
and camera, compare two versions from the history and roll back to one. Each action goes through
`film_pipeline.curation` and `film_pipeline.render`, so its runs are in Dagster's UI too; the
page links to them. Dagster's UI stays the control room for runs and lineage.

`serve` runs it until Ctrl-C or SIGTERM (uvicorn), on 127.0.0.1 unless told otherwise; the app
is `app.create_app(room.ReviewRoom(...))`.
"""

import signal
import socket
import sys
import threading
from pathlib import Path

DEFAULT_PORT = 3300
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"


class ServeError(RuntimeError):
    """The review room cannot listen where it was asked to (a port in use, an unknown host)."""


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket on host:port (a ServeError that says why not)."""
    if not 0 <= port <= 65535:
        raise ServeError(f"--port {port}: a port is 0 to 65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError, ValueError) as error:
        raise ServeError(f"--host {host!r}: not an address of this machine ({error})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}; "
                         f"choose another --port (or --port 0 for any free one)") from None
    sock.set_inheritable(True)
    return sock


def serve(film_dir: Path | str, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          dagster_url: str = DEFAULT_DAGSTER_URL) -> int:
    """Run the review room until Ctrl-C or SIGTERM; a render in flight is left to end with the
    process (its finished steps are kept, the next render resumes). Returns 0."""
    import uvicorn

    from film_pipeline.review.app import create_app
    from film_pipeline.review.room import ReviewRoom

    room = ReviewRoom(film_dir, dagster_url)  # a FilmError before anything listens
    sock = listen(host, port)
    try:
        bound = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(room, bound_host=host), log_level="warning",
                                               access_log=False, lifespan="off"))
        shown = f"[{host}]" if ":" in host else host
        print(f"film: the review room of {room.slug} on http://{shown}:{bound}/ (runs in Dagster's UI: "
              f"{room.dagster_url}); Ctrl-C stops it", file=sys.stderr, flush=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(f"film: warning: listening on {host}: whoever reaches this machine can edit {room.film_yaml}",
                  file=sys.stderr, flush=True)
        room.start()
        _run_until_stopped(server, sock)
    finally:
        sock.close()
        room.stop(timeout=0)
    return 0


def _run_until_stopped(server, sock: socket.socket) -> None:
    """uvicorn stops on SIGINT or SIGTERM, then raises the signal again: here, a stop asked for."""
    def stop(_number, _frame):
        raise KeyboardInterrupt

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, stop) if main else None
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
