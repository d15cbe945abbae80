"""Artifacts in a real S3 server: SeaweedFS started by the fixtures on free 127.0.0.1 ports."""

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest
from minio import Minio
from PIL import Image

from film_pipeline import seaweed
from film_pipeline.media import probe, write_video, write_wav
from film_pipeline.render import render_film
from film_pipeline.store.s3 import S3Settings, S3Store, StoreAuthError, StoreUnavailableError
from film_pipeline.store import IntegrityError, artifact_key, sha256_file
from film_pipeline_tests.conftest import edit_film, shot, write_film

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def server(s3_server):
    return s3_server


@pytest.fixture
def s3_env(server, monkeypatch):
    """Point FILM_STORE at a fresh prefix of the test server's bucket."""
    env = {**server.env(), "FILM_STORE": f"s3://{server.bucket}/{uuid.uuid4().hex[:10]}", "FILM_S3_ATTEMPTS": "2"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def s3_store(env, cache: Path, **changes) -> S3Store:
    settings = S3Settings.from_env(env["FILM_STORE"])
    return S3Store(S3Settings(**{**settings.__dict__, **changes}), cache, attempts=2, backoff=0.05)


def test_every_artifact_type_round_trips_with_its_hash(s3_env, tmp_path):
    store = s3_store(s3_env, tmp_path / "cache")
    samples = tmp_path / "samples"
    samples.mkdir()
    Image.new("RGB", (32, 18), (200, 40, 40)).save(samples / "a.png")
    write_video(samples / "a.mp4", (np.full((18, 32, 3), i * 20, np.uint8) for i in range(6)), 6, (32, 18))
    write_wav(samples / "a.wav", np.sin(np.linspace(0, 100, 4800)).astype(np.float32))
    for name in ("a.png", "a.mp4", "a.wav"):
        key = artifact_key("film", "kind", "s1", "v1", name.split(".")[1])
        stored = store.put_file(key, samples / name)
        assert stored.sha256 == sha256_file(samples / name) and stored.uri.startswith(f"s3://{store.settings.bucket}/")
        fresh = s3_store(s3_env, tmp_path / f"cache-{name}")  # another machine: nothing cached
        assert fresh.local_path(key, stored.sha256).read_bytes() == (samples / name).read_bytes()
    store.put_json("film/kind/_/v1.json", {"a": 1})
    assert s3_store(s3_env, tmp_path / "cache-json").read_json("film/kind/_/v1.json") == {"a": 1}
    assert probe(s3_store(s3_env, tmp_path / "c2").local_path(artifact_key("film", "kind", "s1", "v1", "mp4"))).frames == 6


def test_threads_writing_into_a_bucket_not_made_yet_make_it_once(s3_env, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    bucket = f"new-{uuid.uuid4().hex[:10]}"
    keys = [f"film/spec/s{i}/v1.json" for i in range(24)]
    for attempt in range(3):  # each time, two processes' stores race as well as 16 threads
        stores = [s3_store(s3_env, tmp_path / f"cache-{attempt}-{n}", bucket=f"{bucket}-{attempt}") for n in (1, 2)]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda pair: pair[0].put_json(pair[1], {"key": pair[1]}),
                          [(stores[i % 2], key) for i, key in enumerate(keys)]))
        assert all(stores[0].read_json(key) == {"key": key} for key in keys)


def test_a_corrupted_object_is_caught_and_named(s3_env, server, tmp_path):
    store = s3_store(s3_env, tmp_path / "cache")
    (tmp_path / "x.bin").write_bytes(b"the real bytes")
    stored = store.put_file("film/clip/s1/v1.mp4", tmp_path / "x.bin")
    client = Minio(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False)
    bogus = b"not the bytes"
    import io
    client.put_object(server.bucket, store._object(stored.key), io.BytesIO(bogus), len(bogus))  # behind its back
    with pytest.raises(IntegrityError, match="film/clip/s1/v1.mp4 .*is corrupt"):
        s3_store(s3_env, tmp_path / "cold-cache").local_path(stored.key, stored.sha256)


def test_wrong_credentials_are_a_clear_error_without_the_secret(s3_env, tmp_path):
    store = s3_store(s3_env, tmp_path, secret_key="definitely-wrong-secret")
    with pytest.raises(StoreAuthError) as caught:
        store.exists("anything")
    message = str(caught.value)
    assert "refused the credentials" in message and "FILM_S3_SECRET_KEY" in message
    assert "definitely-wrong-secret" not in message and s3_env["FILM_S3_ACCESS_KEY"] not in message


def test_a_store_that_is_down_is_a_clear_error(s3_env, tmp_path):
    store = s3_store(s3_env, tmp_path, endpoint=f"127.0.0.1:{seaweed.free_port()}")
    with pytest.raises(StoreUnavailableError, match=r"did not answer .*`film store status`"):
        store.exists("anything")


def test_a_film_renders_into_the_bucket_incrementally_and_can_be_shared(s3_env, home, server):
    film_dir = write_film(home)
    first = render_film(film_dir)
    assert not first.failures and len(first.materialized) == 4 * 3 + 6  # four per shot; six for the film
    assert not (home / "store").exists(), "nothing went to the local store"
    prefix = s3_env["FILM_STORE"].split("/", 3)[3]
    client = Minio(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False)
    objects = [o.object_name for o in client.list_objects(server.bucket, prefix=prefix + "/", recursive=True)]
    assert any(name.endswith(".mp4") and "/final_cut/" in name for name in objects)
    edit_film(film_dir, lambda d: shot(d, "b").__setitem__("prompt", "a city street at noon"))
    again = render_film(film_dir)
    assert set(again.materialized) == {("storyboard", "b"), ("clip", "b"), ("upscaled_clip", "b"),
                                       ("script", None), ("final_cut", None), ("timeline_export", None)}
    assert probe(again.final_cut).frames == 24
    link = subprocess.run([sys.executable, "-m", "film_pipeline.cli", "share", str(film_dir), "--hours", "1"],
                          capture_output=True, text=True, env={**os.environ}, cwd=REPO)
    assert link.returncode == 0, link.stderr
    url = link.stdout.strip()
    assert url.startswith(f"http://{server.endpoint}/") and "X-Amz-Signature" in url
    assert hashlib.sha256(urllib.request.urlopen(url).read()).hexdigest() == sha256_file(again.final_cut)
    with pytest.raises(urllib.error.HTTPError):  # the bucket itself stays private
        urllib.request.urlopen(url.split("?")[0])


def test_server_killed_mid_render_then_restarted_loses_nothing(s3_env, home, tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("own-seaweedfs")  # a server of its own, to kill
    own = seaweed.start(root)
    for key, value in {**own.env(), "FILM_STORE": f"s3://{own.bucket}/kill"}.items():
        monkeypatch.setenv(key, value)
    try:
        film_dir = write_film(home)
        assert not render_film(film_dir).failures
        store = S3Store(S3Settings.from_env(os.environ["FILM_STORE"]), tmp_path_factory.mktemp("cache"))
        before = {o.object_name: o.etag for o in store.client.list_objects(own.bucket, recursive=True)}
        edit_film(film_dir, lambda d: [shot(d, s).__setitem__("prompt", f"{s} in the snow") for s in ("a", "b", "c")])
        stopped = []

        def kill_after_first_shot(label, steps):
            if not stopped:
                stopped.append(seaweed.stop(root))

        broken = render_film(film_dir, on_run=kill_after_first_shot)
        assert stopped == [True] and broken.failures, "the render must have lost its store part-way"
        assert all("did not answer" in error for _, error in broken.failures)
        assert seaweed.start(root, own.port).port == own.port
        done = render_film(film_dir)
        assert not done.failures
        redone = {(a, p) for a, p in done.materialized}
        assert ("storyboard", "a") not in redone, "the shot finished before the kill is not redone"
        assert {("storyboard", "b"), ("storyboard", "c"), ("final_cut", None)} <= redone
        after = {o.object_name: o.etag for o in store.client.list_objects(own.bucket, recursive=True)}
        assert all(after.get(name) == etag for name, etag in before.items()), "nothing stored earlier changed"
    finally:
        seaweed.stop(root)


def test_film_store_up_status_down(home):
    env = {**os.environ, "FILM_HOME": str(home)}
    run = lambda *args: subprocess.run([sys.executable, "-m", "film_pipeline.cli", "store", *args],
                                       capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    up = run("up")
    try:
        assert up.returncode == 0, up.stderr
        assert "S3 store up at http://127.0.0.1:" in up.stdout and "source" in up.stdout
        keys = json.loads((home / "seaweedfs" / "keys.json").read_text())
        assert keys["secret_key"] not in up.stdout, "`up` never prints the secret"
        assert oct((home / "seaweedfs" / "keys.json").stat().st_mode)[-3:] == "600"
        assert run("status").stdout.startswith("running at http://127.0.0.1:")
        assert f"FILM_S3_SECRET_KEY={keys['secret_key']}" in run("env").stdout
    finally:
        down = run("down")
    assert down.stdout.strip() == "stopped"
    assert run("status").returncode == 1
