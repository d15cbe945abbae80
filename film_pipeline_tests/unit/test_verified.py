"""The memo of stored files whose sha256 was checked: a file is remembered while its stat stays as
it was, a file changed in place is not, even with its mtime set back, and a file changed within
the last moments is never remembered."""

import os

from film_pipeline.store import verified
from film_pipeline.store.verified import VerifiedFiles, identity_of


def stored(tmp_path, content: bytes = b"frames"):
    path = tmp_path / "store" / "f" / "clip" / "a" / "v1.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_a_checked_file_is_remembered_across_processes_until_it_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(verified, "SETTLED", 0.0)  # the file was written just now
    path, memo = stored(tmp_path), tmp_path / "cache" / "verified"
    identity = identity_of("f/clip/a/v1.mp4", "abc", path)
    first = VerifiedFiles(memo)
    assert identity not in first
    first.remember(identity)
    first.remember(identity)  # once is enough
    assert identity in first and identity in VerifiedFiles(memo), "another process reads it from the file"
    assert len(memo.read_text().split()) == 1
    assert identity_of("f/clip/a/v1.mp4", "another sha256", path) not in VerifiedFiles(memo)
    before = path.stat()
    path.write_bytes(b"frameZ")  # the same size, written in place, its times set back
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    changed = identity_of("f/clip/a/v1.mp4", "abc", path)
    assert changed[-2] == identity[-2] and changed not in VerifiedFiles(memo), "the ctime moved"


def test_a_file_changed_moments_ago_is_checked_every_time(tmp_path):
    path, memo = stored(tmp_path), tmp_path / "cache" / "verified"
    identity = identity_of("f/clip/a/v1.mp4", "abc", path)
    VerifiedFiles(memo).remember(identity)  # within SETTLED of its write: a change in the same tick could hide
    assert identity not in VerifiedFiles(memo) and not memo.exists()


def test_the_memo_keeps_its_newest_half_past_its_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(verified, "SETTLED", 0.0)
    monkeypatch.setattr(verified, "KEEP_AT_MOST", 10)  # read when a memo is opened
    path, memo = stored(tmp_path), tmp_path / "cache" / "verified"
    identities = [identity_of(f"f/clip/{n}/v1.mp4", "abc", path) for n in range(11)]
    writer = VerifiedFiles(memo)
    for identity in identities:
        writer.remember(identity)
    reader = VerifiedFiles(memo)
    assert [identity in reader for identity in identities] == [False] * 6 + [True] * 5
    assert len(memo.read_text().split()) == 5


def test_an_unwritable_memo_is_only_a_memo(tmp_path, monkeypatch):
    monkeypatch.setattr(verified, "SETTLED", 0.0)
    path = stored(tmp_path)
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder would be")
    memo = VerifiedFiles(blocked / "verified")
    identity = identity_of("f/clip/a/v1.mp4", "abc", path)
    memo.remember(identity)  # no error
    assert identity in memo and identity not in VerifiedFiles(blocked / "verified")
