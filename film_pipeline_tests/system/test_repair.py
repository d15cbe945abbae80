"""A damaged store is found and repaired: `film verify [--repair]`, missing artifacts that `plan`,
`status` and `render` notice, and `film render --force`, on the local store and on S3."""

import hashlib
import io
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from minio import Minio

from film_pipeline_tests.conftest import FILM

pytestmark = pytest.mark.xdist_group("repair-s3")


def film(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([FILM, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)


def film_json(*args: str, env: dict | None = None) -> tuple[int, dict]:
    run = film(*args, "--json", env=env)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stdout.strip(), f"`film {args[0]}` printed no JSON; it said: {run.stderr[-2000:]}"
    return run.returncode, json.loads(run.stdout)


def manifest(store: Path, asset: str, shot: str) -> tuple[Path, dict]:
    path = next((store / "mini" / asset / shot).glob("*.json"))
    return path, json.loads(path.read_text())


def flip_a_byte(path: Path) -> str:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return hashlib.sha256(data).hexdigest()


def rendered_steps(summary: dict) -> set[tuple[str, str | None]]:
    return {(m["asset"], m["partition"]) for m in summary["materialized"]}


def test_verify_finds_a_flipped_byte_and_repair_moves_it_aside_and_restores_it(rendered):
    store = rendered.parents[1] / "store"
    _, clip = manifest(store, "clip", "a")
    video = clip["files"]["video"]
    corrupt_sha = flip_a_byte(store / video["key"])
    # the stat-level check of render and status cannot see a flipped byte; verify re-hashes
    code, found = film_json("verify", str(rendered))
    assert code == 1 and found["intact"] is False
    assert [(d["asset"], d["shot"], d["key"], d["problem"]) for d in found["damaged"]] == [
        ("clip", "a", video["key"], "corrupt")]
    assert found["checked"] == 4 * 3 + 6 and found["repaired"] == []  # four assets a shot, six for the film

    code, repaired = film_json("verify", str(rendered), "--repair", "--no-progress")
    assert code == 0, repaired
    assert repaired["intact"] is True and repaired["remaining"] == []
    assert rendered_steps(repaired) == {("clip", "a")}  # the same version: nothing downstream moves
    evidence = [store / key for key in repaired["attic"] if key.endswith(video["key"])]
    assert len(evidence) == 1 and hashlib.sha256(evidence[0].read_bytes()).hexdigest() == corrupt_sha
    assert hashlib.sha256((store / video["key"]).read_bytes()).hexdigest() == video["sha256"]
    code, again = film_json("verify", str(rendered))
    assert code == 0 and again["damaged"] == []


def test_a_deleted_upscaled_clip_is_missing_until_render_re_renders_it_alone(rendered):
    store = rendered.parents[1] / "store"
    _, upscaled = manifest(store, "upscaled_clip", "b")
    video = upscaled["files"]["video"]
    (store / video["key"]).unlink()

    code, status = film_json("status", str(rendered))
    states = {(s["asset"], s["partition"]): s for s in status["assets"]}
    assert code == 0 and states[("upscaled_clip", "b")]["status"] == "missing"
    assert video["key"] in states[("upscaled_clip", "b")]["reason"]
    assert {k for k, s in states.items() if s["status"] != "fresh"} == {("upscaled_clip", "b")}
    code, plan = film_json("plan", str(rendered))
    assert [(s["asset"], s["partition"]) for s in plan["render"]] == [("upscaled_clip", "b")]

    code, result = film_json("render", str(rendered), "--no-progress")
    assert code == 0 and rendered_steps(result) == {("upscaled_clip", "b")}
    assert hashlib.sha256((store / video["key"]).read_bytes()).hexdigest() == video["sha256"]
    assert result["final_cut"]
    code, plan = film_json("plan", str(rendered))
    assert plan["render"] == []


def test_a_deleted_manifest_is_missing_and_re_renders(rendered):
    store = rendered.parents[1] / "store"
    path, _ = manifest(store, "storyboard", "c")
    path.unlink()
    code, result = film_json("render", str(rendered), "--no-progress")
    assert code == 0 and rendered_steps(result) == {("storyboard", "c")}
    assert path.exists()


def test_force_re_renders_what_it_names_and_what_depends_on_it(rendered):
    store = rendered.parents[1] / "store"
    _, before = manifest(store, "clip", "b")
    code, result = film_json("render", str(rendered), "--force", "clip[b]", "--no-progress")
    assert code == 0, result
    assert rendered_steps(result) == {("clip", "b"), ("upscaled_clip", "b"), ("final_cut", None), ("timeline_export", None)}
    after = manifest(store, "clip", "b")[1]["files"]
    assert {r: f["sha256"] for r, f in after.items()} == {r: f["sha256"] for r, f in before["files"].items()}
    assert list((store / "_attic").glob(f"*/{before['files']['video']['key']}"))  # the old files kept

    code, result = film_json("render", str(rendered), "--force", "a", "--no-progress")
    assert code == 0
    assert {("storyboard", "a"), ("clip", "a"), ("upscaled_clip", "a"), ("voiceover", "a"),
            ("soundtrack", None), ("final_cut", None)} <= rendered_steps(result)
    assert {shot for _, shot in rendered_steps(result)} <= {"a", None}


@pytest.mark.parametrize("argument", ["nope", "clip[nope]", "final_cut[a]", "[a]", ""])
def test_force_of_something_the_film_lacks_is_bad_input(rendered, argument):
    run = film("render", str(rendered), "--force", argument, "--no-progress")
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith(f"film: --force {argument}: ") and "Traceback" not in run.stderr
    assert "ASSET[SHOT]" in run.stderr


def test_on_s3_verify_repairs_a_corrupt_object_and_render_restores_a_deleted_one(s3_server, home, tmp_path):
    from film_pipeline_tests.conftest import write_film

    prefix = uuid.uuid4().hex[:10]
    env = {**s3_server.env(), "FILM_STORE": f"s3://{s3_server.bucket}/{prefix}", "FILM_HOME": str(home)}
    film_dir = write_film(home)
    code, first = film_json("render", str(film_dir), "--no-progress", env=env)
    assert code == 0, first
    client = Minio(s3_server.endpoint, access_key=env["FILM_S3_ACCESS_KEY"], secret_key=env["FILM_S3_SECRET_KEY"],
                   secure=False)
    bucket = s3_server.bucket
    names = [o.object_name for o in client.list_objects(bucket, prefix=f"{prefix}/mini/clip/a/", recursive=True)]
    video = next(n for n in names if n.endswith(".mp4"))
    good = client.get_object(bucket, video).read()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x01
    client.put_object(bucket, video, io.BytesIO(bytes(bad)), len(bad))

    code, found = film_json("verify", str(film_dir), env=env)
    key = video.removeprefix(f"{prefix}/")
    assert code == 1 and [(d["key"], d["problem"]) for d in found["damaged"]] == [(key, "corrupt")]
    code, repaired = film_json("verify", str(film_dir), "--repair", "--no-progress", env=env)
    assert code == 0 and rendered_steps(repaired) == {("clip", "a")}, repaired
    assert client.get_object(bucket, video).read() == good
    attic = [n for n in repaired["attic"] if n.endswith(key)]
    assert client.get_object(bucket, f"{prefix}/{attic[0]}").read() == bytes(bad)

    upscaled = next(o.object_name for o in client.list_objects(bucket, prefix=f"{prefix}/mini/upscaled_clip/c/",
                                                               recursive=True) if o.object_name.endswith(".mp4"))
    kept = client.get_object(bucket, upscaled).read()
    client.remove_object(bucket, upscaled)
    code, plan = film_json("plan", str(film_dir), env=env)
    assert [(s["asset"], s["partition"], s["status"]) for s in plan["render"]] == [("upscaled_clip", "c", "missing")]
    code, result = film_json("render", str(film_dir), "--no-progress", env=env)
    assert code == 0 and rendered_steps(result) == {("upscaled_clip", "c")}
    assert client.get_object(bucket, upscaled).read() == kept
