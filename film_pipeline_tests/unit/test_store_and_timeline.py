"""The local artifact store (write once, verify on read) and the film's timing arithmetic."""

import os

import pytest

from film_pipeline.store import IntegrityError, LocalStore, artifact_key, sha256_file
from film_pipeline.timeline import layout, total_frames


def test_store_writes_once_and_verifies(tmp_path):
    store = LocalStore(tmp_path / "store")
    source = tmp_path / "a.bin"
    source.write_bytes(b"first")
    key = artifact_key("film", "clip", "s1", "v1", "mp4")
    stored = store.put_file(key, source)
    assert stored.sha256 == sha256_file(source) and stored.bytes == 5
    assert store.local_path(key, stored.sha256).read_bytes() == b"first"
    source.write_bytes(b"second")
    assert store.put_file(key, source).sha256 == stored.sha256, "an existing version is never overwritten"
    assert not list((tmp_path / "store").rglob("*.part")), "no temp files left behind"


def test_a_file_its_step_gives_up_is_linked_into_the_store_not_copied(tmp_path, monkeypatch):
    import errno

    from film_pipeline.store import local

    store, workdir = LocalStore(tmp_path / "store"), tmp_path / "work"
    workdir.mkdir()
    made = workdir / "cut.mp4"
    made.write_bytes(b"frames" * 1000)
    made.chmod(0o644)
    stored = store.put_file("f/final_cut/_/v1.mp4", made, owned=True)
    path = store.local_path(stored.key, stored.sha256)
    assert path.stat().st_ino == made.stat().st_ino, "linked: no copy"
    assert (stored.sha256, stored.bytes) == (sha256_file(made), 6000) and (path.stat().st_mode & 0o777) == 0o600
    made.unlink()  # the step's working directory goes
    assert store.local_path(stored.key, stored.sha256).read_bytes() == b"frames" * 1000
    kept = tmp_path / "reference.png"  # a file its caller keeps (a character's reference picture)
    kept.write_bytes(b"picture")
    assert store.local_path(store.put_file("f/characters/_/v1.png", kept).key).stat().st_ino != kept.stat().st_ino
    other = workdir / "other.mp4"
    other.write_bytes(b"other")
    monkeypatch.setattr(local.os, "link", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EXDEV, "cross-device")))
    copied = store.put_file("f/final_cut/_/v2.mp4", other, owned=True)  # another device: copied
    assert store.local_path(copied.key, copied.sha256).stat().st_ino != other.stat().st_ino
    assert not list((tmp_path / "store").rglob("*.part")), "no temp files left behind"


def test_bytes_are_stored_as_a_file_with_them_would_be(tmp_path):
    store, source = LocalStore(tmp_path / "store"), tmp_path / "spec.json"
    source.write_bytes(b'{"prompt": "a lighthouse"}')
    from_bytes = store.put_bytes("f/visual_spec/a/v1.json", source.read_bytes())
    from_file = store.put_file("f/visual_spec/a/v2.json", source)
    assert (from_bytes.sha256, from_bytes.bytes) == (from_file.sha256, from_file.bytes) == (sha256_file(source), 26)
    assert from_bytes.uri == store.uri(from_bytes.key) and store.local_path(from_bytes.key, from_bytes.sha256).read_bytes() == source.read_bytes()
    assert store.put_bytes(from_bytes.key, b"other").sha256 == from_bytes.sha256, "an existing version is never overwritten"
    assert not list((tmp_path / "store").rglob("*.part")), "no temp files left behind"
    with pytest.raises(ValueError, match="escapes"):
        store.put_bytes("../outside.json", b"{}")


def test_store_detects_corruption_and_names_the_key(tmp_path):
    store = LocalStore(tmp_path)
    stored = store.put_bytes("f/a/_/v.json", b"{}")
    (tmp_path / "f/a/_/v.json").write_bytes(b"{ }")
    with pytest.raises(IntegrityError, match="f/a/_/v.json is corrupt"):
        store.local_path(stored.key, stored.sha256)


def test_store_refuses_keys_outside_its_root(tmp_path):
    with pytest.raises(ValueError, match="escapes"):
        LocalStore(tmp_path / "s").local_path("../../etc/passwd")


def test_missing_artifact_says_to_re_render(tmp_path):
    with pytest.raises(FileNotFoundError, match="re-render"):
        LocalStore(tmp_path).local_path("f/a/_/v.mp4")


def test_cuts_follow_each_other():
    placements = layout([("a", 1.0, "cut"), ("b", 2.0, "cut")], 24)
    assert [(p.start, p.frames) for p in placements] == [(0, 24), (24, 48)]
    assert total_frames(placements) == 72


def test_crossfade_overlaps_half_a_second_and_shortens_the_film():
    placements = layout([("a", 2.0, "crossfade"), ("b", 2.0, "cut")], 24)
    assert placements[1].start == 48 - 12 and placements[1].crossfade_in == 12
    assert total_frames(placements) == 96 - 12


def test_crossfade_never_overlaps_more_than_half_a_short_shot():
    placements = layout([("a", 0.25, "crossfade"), ("b", 2.0, "cut")], 24)
    assert placements[1].crossfade_in == 3


def test_fade_goes_to_black_without_overlap_and_the_last_shot_fades_out():
    placements = layout([("a", 1.0, "fade"), ("b", 1.0, "crossfade")], 10)
    assert (placements[0].fade_out, placements[1].fade_in, placements[1].start) == (5, 5, 10)
    assert placements[1].fade_out == 5 and total_frames(placements) == 20


def test_writes_synced_together_are_synced_at_the_end_many_by_one_sync_and_a_few_each(tmp_path, monkeypatch):
    import film_pipeline.store.local as local

    store, fsyncs, syncs = LocalStore(tmp_path / "store"), [], []
    real_fsync = local.os.fsync
    monkeypatch.setattr(local.os, "fsync", lambda fd: (fsyncs.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    real_sync = local.sync_file_system
    monkeypatch.setattr(local, "sync_file_system", lambda path: (syncs.append(path), real_sync(path)))
    many = local.SYNC_EACH_UP_TO + 1
    with store.synced_together():
        for n in range(many):
            store.put_bytes(f"f/visual_spec/s{n}/v.json", b"{}")
        assert fsyncs == [] and syncs == []  # nothing synced one by one, nor yet
    assert syncs == [store.root] and fsyncs == [], "many files: one sync of the file system"
    store.put_bytes("f/visual_spec/s9999/v.json", b"{}")
    assert len(fsyncs) == 1, "outside it, each write is synced as it is made"
    assert store.local_path("f/visual_spec/s4/v.json").read_bytes() == b"{}"
    fsyncs.clear()
    with store.synced_together():
        store.put_bytes("f/visual_spec/few/a.json", b"{}")
        store.put_file("f/visual_spec/few/b.json", store.local_path("f/visual_spec/s4/v.json"))
        store.put_bytes("f/visual_spec/few/a.json", b"{}")  # there already: nothing written, nothing to sync
        assert fsyncs == []
    assert len(syncs) == 1, "a few files: no sync of the whole file system (it flushes every other write too)"
    folder = store.local_path("f/visual_spec/few/a.json").parent
    assert fsyncs == [str(folder / "a.json"), str(folder / "b.json"), str(folder)], "each file, then its folder once"
    with pytest.raises(RuntimeError), store.synced_together():
        store.put_bytes("f/visual_spec/s8888/v.json", b"{}")
        raise RuntimeError("a failure half way")
    assert fsyncs[-2] == str(store.local_path("f/visual_spec/s8888/v.json")) and store._sync_each, \
        "what was written is synced, and syncing one by one is back"


@pytest.mark.parametrize("key", ["../outside.json", "f/../../outside.json", "/etc/passwd", "f/a/../../..", "", "."])
def test_no_key_reaches_outside_the_store_or_the_store_itself(tmp_path, key):
    with pytest.raises(ValueError, match="escapes"):
        LocalStore(tmp_path / "store").put_bytes(key, b"{}")
    assert not (tmp_path / "outside.json").exists()


def test_a_folder_of_the_store_linked_to_another_disk_is_still_the_store(tmp_path):
    store, elsewhere = LocalStore(tmp_path / "store"), tmp_path / "big-disk" / "film"
    elsewhere.mkdir(parents=True)
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "film").symlink_to(elsewhere)
    stored = store.put_bytes("film/clip/a/v1.json", b"{}")
    assert (elsewhere / "clip" / "a" / "v1.json").read_bytes() == b"{}"
    assert store.local_path(stored.key, stored.sha256).read_bytes() == b"{}"
