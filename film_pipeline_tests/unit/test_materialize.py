"""The materializer's cache on a real local store, without a Dagster instance: a version is made
once, found again by any film, and a damaged file is never passed on as that version."""

import pytest

from film_pipeline.materialize import ArtifactCache, file_ext, shared_key
from film_pipeline.versions import artifact_version
from film_pipeline.store import IntegrityError, LocalStore


@pytest.fixture
def store(tmp_path):
    return LocalStore(tmp_path / "store")


def saved(cache: ArtifactCache, tmp_path, name="clip", shot="a", version="v1") -> dict:
    video, still = tmp_path / "clip.mp4", tmp_path / "frame.png"
    video.write_bytes(b"video bytes")
    still.write_bytes(b"png bytes")
    stored = cache.put_files(name, shot, version, {"video": video, "frame": still})
    return cache.save(name, shot, version, stored, {"frames": 12}, {"visual_spec": "s1"})


def test_a_version_not_made_is_not_found(store):
    assert ArtifactCache(store, "film").lookup("clip", "a", "v1") is None


def test_a_saved_version_is_found_with_its_files_under_content_addressed_keys(store, tmp_path):
    cache = ArtifactCache(store, "film")
    manifest = saved(cache, tmp_path)
    assert cache.lookup("clip", "a", "v1") == manifest
    assert manifest["primary"] == "video" and manifest["info"] == {"frames": 12}
    assert manifest["files"]["video"]["key"] == "film/clip/a/v1.mp4"
    assert manifest["files"]["frame"]["key"] == "film/clip/a/v1.frame.png"
    assert store.exists("film/clip/a/v1.json") and store.exists(shared_key("clip", "v1"))


def test_another_film_reuses_the_version_copied_under_its_own_keys(store, tmp_path):
    made = saved(ArtifactCache(store, "first"), tmp_path)
    reused = ArtifactCache(store, "second").lookup("clip", "b", "v1")
    assert reused["reused_from"] == "first/clip/a/v1.mp4" and reused["shot"] == "b"
    assert reused["files"]["video"]["key"] == "second/clip/b/v1.mp4"
    assert reused["files"]["video"]["sha256"] == made["files"]["video"]["sha256"]


def test_a_corrupt_file_of_a_stored_version_is_an_integrity_error(store, tmp_path):
    cache = ArtifactCache(store, "film")
    manifest = saved(cache, tmp_path)
    path = store.local_path(manifest["files"]["video"]["key"])
    path.write_bytes(b"video bytez")
    with pytest.raises(IntegrityError, match="film/clip/a/v1.mp4 is corrupt"):
        cache.lookup("clip", "a", "v1")


def test_file_extensions_keep_an_artifacts_files_apart():
    from pathlib import Path

    assert [file_ext(role, Path(f"x.{ext}")) for role, ext in [("video", "mp4"), ("take1", "png"), ("take2", "png"),
                                                                ("preview", "webp")]] == ["mp4", "png", "take2.png",
                                                                                           "preview.webp"]


def test_an_artifact_version_hashes_the_stage_its_code_version_and_inputs():
    assert artifact_version("clip", ["b1", "m1"]) != artifact_version("clip", ["b1", "m2"])
    assert artifact_version("clip", ["b1", "m1"]) != artifact_version("upscaled_clip", ["b1", "m1"])
    assert len(artifact_version("clip", ["b1", "m1"])) == 20


def test_the_integrity_check_finds_a_gone_file_listing_only_the_folders_of_the_assets_it_asks_about(store, tmp_path):
    from film_pipeline.integrity import StoredArtifacts

    cache = ArtifactCache(store, "film")
    saved(cache, tmp_path, shot="a")
    saved(cache, tmp_path, shot="b")
    saved(cache, tmp_path, name="visual_spec", shot="a")  # a spec's folder: the planner never asks about it
    store.local_path("film/clip/b/v1.frame.png").unlink()
    listed, keys = [], store.keys
    store.keys = lambda prefix: listed.append(prefix) or keys(prefix)
    artifacts = StoredArtifacts(store, "film")
    assert artifacts.missing("clip", "a", "v1") is None
    gone = artifacts.missing("clip", "b", "v1")
    assert (gone.key, gone.problem) == ("film/clip/b/v1.frame.png", "missing")
    assert artifacts.missing("clip", "c", "v1").key == "film/clip/c/v1.json"
    assert listed == ["film/clip/"]  # once, and only the asked asset's folder
    assert store.keys("film/") >= {"film/clip/a/v1.mp4", "film/visual_spec/a/v1.json"}


def test_only_the_files_a_step_made_in_its_working_directory_are_given_to_the_store(tmp_path):
    store = LocalStore(tmp_path / "store")
    given, put_file = {}, store.put_file
    store.put_file = lambda key, path, owned=False: given.update({path.name: owned}) or put_file(key, path, owned)
    workdir, elsewhere = tmp_path / "work", tmp_path / "cache"
    workdir.mkdir(), elsewhere.mkdir()
    (workdir / "made.mp4").write_bytes(b"made")
    (elsewhere / "kept.png").write_bytes(b"kept")
    (workdir / "pointer.png").symlink_to(elsewhere / "kept.png")  # in the working directory, a file elsewhere
    ArtifactCache(store, "film").put_files("final_cut", None, "v1", {
        "video": workdir / "made.mp4", "poster": elsewhere / "kept.png", "sheet": workdir / "pointer.png"}, workdir)
    assert given == {"made.mp4": True, "kept.png": False, "pointer.png": False}
    assert (elsewhere / "kept.png").read_bytes() == b"kept" and store.keys("film/")
