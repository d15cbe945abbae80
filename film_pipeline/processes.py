"""Background servers this package starts (SeaweedFS, Redis, Celery workers, `dagster dev`): free
loopback ports, whether a recorded pid still lives, stopping a process group or a whole session
politely, then firmly, and tying a session's lifetime to the process that started it."""

import os
import signal
import socket
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def stop_group(pid: int, timeout: float = 15.0) -> bool:
    """SIGTERM the process group `pid` leads (SIGKILL after `timeout`); True once it is gone."""
    if not alive(pid):
        return False
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except OSError:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                return True
            time.sleep(0.1)
    return not alive(pid)


def session_members(sid: int) -> list[int]:
    """The live processes (zombies left out) of session `sid`, read from /proc."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        state, _ppid, _group, session = stat.rsplit(")", 1)[1].split()[:4]  # the name may hold spaces or ')'
        if state != "Z" and int(session) == sid:
            members.append(int(entry.name))
    return members


def stop_session(sid: int, grace: float = 10.0, exclude: tuple[int, ...] = ()) -> bool:
    """SIGTERM every process of session `sid` (those that join it meanwhile too), then SIGKILL
    whatever is left after `grace` seconds (at once when `grace` is 0); True once none is left.
    Unlike a process group, a session holds every descendant that did not call setsid itself."""
    phases = ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)) if grace > 0 else ((signal.SIGKILL, 5.0),)
    for number, wait in phases:
        deadline = time.monotonic() + wait
        signalled = set()
        while True:
            left = [pid for pid in session_members(sid) if pid not in exclude]
            if not left:
                return True
            if time.monotonic() > deadline:
                break
            for pid in left:
                if number == signal.SIGKILL or pid not in signalled:
                    try:
                        os.kill(pid, number)
                    except OSError:
                        pass
                    signalled.add(pid)
            time.sleep(0.1)
    return not [pid for pid in session_members(sid) if pid not in exclude]


def exec_tied_to_parent(parent_fd: int, command: list[str], grace: float = 10.0):
    """Become `command` (exec), leaving a watchdog in this session that stops the whole session
    once the parent is gone, however it went (`kill -9` included).

    `parent_fd` is the read end of a pipe whose write end only the parent holds: it reads
    end-of-file exactly when the parent has exited. Call this in the leader of a session of its
    own (Popen's start_new_session), before anything else starts in it."""
    if os.fork() == 0:
        try:
            _watch(parent_fd, grace)
        finally:
            os._exit(0)
    os.close(parent_fd)
    for number in (signal.SIGPIPE, signal.SIGXFSZ):  # as subprocess leaves them for its children
        signal.signal(number, signal.SIG_DFL)
    os.execv(command[0], command)


def _watch(parent_fd: int, grace: float) -> None:
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a clean stop is the parent's to make
        signal.signal(number, signal.SIG_IGN)
    os.closerange(3, parent_fd)
    os.closerange(parent_fd + 1, 65536)
    while os.read(parent_fd, 1):  # the parent never writes; b"" is end-of-file: it has exited
        pass
    stop_session(os.getsid(0), grace, exclude=(os.getpid(),))


def tied_command(parent_fd: int, command: list[str]) -> list[str]:
    """The command line that runs `command` under exec_tied_to_parent (pass `parent_fd` to it)."""
    return [sys.executable, "-m", "film_pipeline.processes", "--tied-to", str(parent_fd), "--", *command]


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[1] != "--tied-to" or sys.argv[3] != "--":
        sys.exit("usage: python -m film_pipeline.processes --tied-to FD -- COMMAND [ARG...]")
    exec_tied_to_parent(int(sys.argv[2]), sys.argv[4:])
