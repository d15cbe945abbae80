"""The S3-compatible artifact store (MinIO in production, SeaweedFS locally), through the minio client.

Same content-addressed keys as the local store, under `s3://bucket/prefix/`. Uploads stream
(minio's multipart upload, never the whole file in memory) with the sha256 as object metadata,
and are checked (size and hash) before `put_file` returns, so a step records only what is
really stored. Reads download into a local cache under $FILM_HOME/cache and check the sha256
the materialization recorded. Transient faults retry with backoff; a server that stays down,
or wrong credentials, is one clear error that names the endpoint and never the secrets.
"""

import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from film_pipeline.store.base import IntegrityError, StoredFile, StoreHelpers, sha256_file

TRANSIENT_CODES = {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "ServiceBusy"}
AUTH_CODES = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken"}
PART_SIZE = 16 * 1024 * 1024


class StoreUnavailableError(RuntimeError):
    """The object store did not answer, even after retries."""


class StoreAuthError(RuntimeError):
    """The object store refused the credentials."""


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    prefix: str
    endpoint: str
    access_key: str
    secret_key: str
    secure: bool

    @classmethod
    def from_env(cls, url: str) -> "S3Settings":
        parsed = urlparse(url)
        endpoint = os.environ.get("FILM_S3_ENDPOINT", "")
        if not parsed.netloc or not endpoint:
            raise ValueError("FILM_STORE=s3://bucket/prefix needs FILM_S3_ENDPOINT (host:port), FILM_S3_ACCESS_KEY "
                             "and FILM_S3_SECRET_KEY; `film store up` starts a local server and prints them")
        scheme = urlparse(endpoint if "//" in endpoint else f"//{endpoint}")
        secure = os.environ.get("FILM_S3_SECURE", "https" if endpoint.startswith("https") else "false").lower()
        return cls(bucket=parsed.netloc, prefix=parsed.path.strip("/"), endpoint=scheme.netloc,
                   access_key=os.environ.get("FILM_S3_ACCESS_KEY", ""), secret_key=os.environ.get("FILM_S3_SECRET_KEY", ""),
                   secure=secure in ("1", "true", "yes", "https"))

    def __repr__(self) -> str:  # never print the keys
        return f"S3Settings(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint={self.endpoint!r}, secure={self.secure})"


class S3Store(StoreHelpers):
    reading_threads = 16  # reads at once where a caller has many: each waits on a GET
    def __init__(self, settings: S3Settings, cache_dir: Path, attempts: int | None = None, backoff: float = 0.5):
        import urllib3
        from minio import Minio

        self.settings, self.cache_dir = settings, Path(cache_dir)
        self.attempts = attempts or int(os.environ.get("FILM_S3_ATTEMPTS", "5"))
        self.backoff = backoff
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=60), retries=False)
        self.client = Minio(settings.endpoint, access_key=settings.access_key, secret_key=settings.secret_key,
                            secure=settings.secure, http_client=http)
        self._bucket_ready, self._bucket_lock = False, threading.Lock()

    # ---- plumbing -----------------------------------------------------------------------

    @property
    def where(self) -> str:
        scheme = "https" if self.settings.secure else "http"
        return f"{scheme}://{self.settings.endpoint} (bucket `{self.settings.bucket}`)"

    def _object(self, key: str) -> str:
        if ".." in key.split("/"):
            raise ValueError(f"artifact key {key!r} escapes the store")
        return f"{self.settings.prefix}/{key}" if self.settings.prefix else key

    def _call(self, what: str, fn):
        """Run one S3 call, retrying transient faults with exponential backoff."""
        from minio.error import S3Error
        from urllib3.exceptions import HTTPError

        for attempt in range(self.attempts):
            try:
                return fn()
            except S3Error as error:
                if error.code in AUTH_CODES:
                    raise StoreAuthError(f"the object store at {self.where} refused the credentials ({error.code}) "
                                         f"while trying to {what}; check FILM_S3_ACCESS_KEY and FILM_S3_SECRET_KEY") from None
                if error.code not in TRANSIENT_CODES:
                    raise
            except (HTTPError, ConnectionError, TimeoutError):
                pass
            if attempt < self.attempts - 1:
                time.sleep(self.backoff * 2 ** attempt)
        raise StoreUnavailableError(
            f"the object store at {self.where} did not answer ({self.attempts} tries) while trying to {what}; "
            f"check that it is running (`film store status`) and that FILM_S3_ENDPOINT is right. "
            f"Nothing already stored was lost: run the same command again once it is back")

    def _ensure_bucket(self) -> None:
        # threads upload side by side (a feature's specs): one of them makes the bucket
        with self._bucket_lock:
            if not self._bucket_ready:
                bucket = self.settings.bucket
                if not self._call("check the bucket", lambda: self.client.bucket_exists(bucket)):
                    self._call("create the bucket", lambda: self._make_bucket(bucket))  # private: no policy set
                self._bucket_ready = True

    def _make_bucket(self, bucket: str) -> None:
        from minio.error import S3Error

        try:
            self.client.make_bucket(bucket)
        except S3Error as error:
            if error.code != "BucketAlreadyOwnedByYou":  # another process of ours made it since we looked
                raise

    def _stat(self, key: str):
        from minio.error import S3Error

        def stat():
            try:
                return self.client.stat_object(self.settings.bucket, self._object(key))
            except S3Error as error:
                if error.code in ("NoSuchKey", "NoSuchObject", "NoSuchBucket"):
                    return None
                raise

        return self._call(f"look up {key}", stat)

    # ---- the ArtifactStore interface ------------------------------------------------------

    def uri(self, key: str) -> str:
        return f"s3://{self.settings.bucket}/{self._object(key)}"

    def exists(self, key: str) -> bool:
        self._ensure_bucket()
        return self._stat(key) is not None

    def put_file(self, key: str, source: Path, owned: bool = False) -> StoredFile:
        self._ensure_bucket()
        existing = self._stat(key)
        if existing is not None:  # content-addressed: never overwritten
            return StoredFile(key, self.uri(key), existing.metadata.get("x-amz-meta-sha256", ""), existing.size)
        digest, size = sha256_file(source), Path(source).stat().st_size
        self._call(f"upload {key}", lambda: self.client.fput_object(
            self.settings.bucket, self._object(key), str(source), metadata={"sha256": digest}, part_size=PART_SIZE))
        landed = self._stat(key)
        if landed is None or landed.size != size or landed.metadata.get("x-amz-meta-sha256") != digest:
            raise IntegrityError(f"upload of {key} to {self.where} did not verify; run the step again")
        return StoredFile(key, self.uri(key), digest, size)

    def local_path_of(self, key: str) -> Path:
        """Where `local_path` keeps its copy of `key`."""
        return self.cache_dir / self.settings.bucket / self._object(key)

    def local_path(self, key: str, sha256: str | None = None) -> Path:
        """A local copy (downloaded once into the cache), checked against the recorded sha256."""
        path = self.local_path_of(key)
        if path.exists() and (not sha256 or sha256_file(path) == sha256):
            return path  # a good cached copy: hashed once
        path.parent.mkdir(parents=True, exist_ok=True)
        if self._stat(key) is None:
            raise FileNotFoundError(f"artifact {key} is missing from {self.where}; `film render FILM_DIR` re-renders it")
        partial = path.with_name(f".{path.name}.{os.getpid()}.part")
        self._call(f"download {key}", lambda: self.client.fget_object(
            self.settings.bucket, self._object(key), str(partial)))
        os.replace(partial, path)
        if sha256 and sha256_file(path) != sha256:
            path.unlink()
            raise IntegrityError(f"artifact {key} in {self.where} is corrupt (sha256 differs from the one recorded); "
                                 f"`film verify FILM_DIR --repair` moves it aside and re-renders it")
        return path

    def keys(self, prefix: str) -> set[str]:
        """Every key under `prefix`: one listing (paged by the client), no downloads."""
        self._ensure_bucket()
        strip = len(self._object(""))
        return self._call(f"list {prefix}", lambda: {
            item.object_name[strip:] for item in self.client.list_objects(
                self.settings.bucket, prefix=self._object(prefix), recursive=True)})

    def rehash(self, key: str) -> str | None:
        """The sha256 of the object as the server holds it now, downloaded afresh (the local cache
        may hold a good copy of a damaged object); None when it is gone."""
        if self._stat(key) is None:
            return None
        self._forget(key)
        path = self.local_path(key)
        return sha256_file(path)

    def move_aside(self, key: str, into: str) -> str | None:
        """Copy the object to `into/<key>`, then remove it (kept as evidence); None if it is gone."""
        from minio.commonconfig import CopySource

        if self._stat(key) is None:
            return None
        target_key = f"{into.rstrip('/')}/{key}"
        bucket = self.settings.bucket
        self._call(f"move {key} aside", lambda: self.client.copy_object(
            bucket, self._object(target_key), CopySource(bucket, self._object(key))))
        self._call(f"remove {key}", lambda: self.client.remove_object(bucket, self._object(key)))
        self._forget(key)
        return target_key

    def _forget(self, key: str) -> None:
        (self.cache_dir / self.settings.bucket / self._object(key)).unlink(missing_ok=True)

    def share_url(self, key: str, expires: timedelta) -> str:
        """A presigned GET URL; the bucket itself stays private."""
        return self._call(f"sign a link to {key}", lambda: self.client.presigned_get_object(
            self.settings.bucket, self._object(key), expires=expires))
