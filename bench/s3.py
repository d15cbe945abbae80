"""S3 store throughput (a 100 MB object up and down) and the demo render on S3 against the local store.

    .venv/bin/python bench/s3.py [--megabytes 100] [--demo]

Starts its own SeaweedFS (`film store up`'s code) on free 127.0.0.1 ports in a temporary
FILM_HOME and stops it afterwards.
"""

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
warnings.filterwarnings("ignore")


def throughput(store, megabytes: int = 100) -> tuple[float, float]:
    """Upload and download MB/s of a random object of `megabytes` (a benchmark helper)."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "blob"
        with open(source, "wb") as out:
            for _ in range(megabytes):
                out.write(os.urandom(1 << 20))
        key = f"_bench/{hashlib.sha256(source.read_bytes()[:1 << 20]).hexdigest()[:12]}.bin"
        started = time.perf_counter()
        stored = store.put_file(key, source)
        up = megabytes / (time.perf_counter() - started)
        started = time.perf_counter()
        store.local_path(key, stored.sha256)
        down = megabytes / (time.perf_counter() - started)
        return up, down


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--demo", action="store_true", help="also render the demo film into the bucket")
    args = parser.parse_args()
    from film_pipeline import seaweed
    from film_pipeline.store.s3 import S3Settings, S3Store

    with tempfile.TemporaryDirectory() as home:
        os.environ["FILM_HOME"] = home
        server = seaweed.start(Path(home) / "seaweedfs")
        try:
            os.environ.update(server.env())
            store = S3Store(S3Settings.from_env(os.environ["FILM_STORE"]), Path(home) / "cache")
            runs = [throughput(store, args.megabytes) for _ in range(3)]
            up, down = sorted(r[0] for r in runs)[1], sorted(r[1] for r in runs)[1]
            print(f"{args.megabytes} MB object, SeaweedFS on 127.0.0.1, median of 3: "
                  f"upload {up:.0f} MB/s, download {down:.0f} MB/s")
            if args.demo:
                from film_pipeline.render import render_film

                film_dir = Path(home) / "films" / "demo"
                shutil.copytree(REPO / "data" / "films" / "demo", film_dir)
                started = time.perf_counter()
                result = render_film(film_dir)
                assert not result.failures, result.failures
                print(f"demo film, first render into S3: {time.perf_counter() - started:.1f} s")
        finally:
            seaweed.stop(Path(home) / "seaweedfs")


if __name__ == "__main__":
    main()
