"""The timeline export rendered ahead (timeline_export.render_ahead, started by the final cut's step
before its final mux): `render` takes it only when it was made of an equal Cut, and the files are
byte for byte the ones it would write itself; anything else is rendered again and leaves nothing
behind."""

import hashlib
import threading
from pathlib import Path

import pytest

from film_pipeline import exports
from film_pipeline.stages import timeline_export
from film_pipeline.timeline import Placement


def a_cut(prompt: str = "a harbour at dawn") -> exports.Cut:
    shots = [exports.Shot(Placement(f"s{i}", i * 12, 12, 0, 0, 0), f"{prompt}, view {i}", f"v{i}",
                          exports.Media(Path(f"/store/clip{i}.mp4"), f"film/clip/s{i}/v{i}.mp4", "a" * 64))
             for i in range(3)]
    return exports.Cut("A film", 12, (128, 72), shots, exports.Media(Path("/store/score.wav"), "film/score.wav", "b" * 64),
                       exports.Media(Path("/store/title.mov"), "film/title.mov", "c" * 64), 6)


def digests(files: dict[str, Path]) -> dict[str, str]:
    return {fmt: hashlib.sha256(path.read_bytes()).hexdigest() for fmt, path in files.items()}


@pytest.fixture
def renders(monkeypatch):
    """The threads `timeline_export._render` ran in, in order."""
    seen, original = [], timeline_export._render
    monkeypatch.setattr(timeline_export, "_render", lambda cut, workdir: (
        seen.append(threading.current_thread().name), original(cut, workdir))[1])
    yield seen
    timeline_export._drop_ahead()


@pytest.fixture
def folders(monkeypatch) -> list[Path]:
    """The folders render_ahead rendered in."""
    made, real = [], timeline_export.tempfile.mkdtemp
    monkeypatch.setattr(timeline_export.tempfile, "mkdtemp", lambda **kw: made.append(Path(real(**kw))) or str(made[-1]))
    return made


def render_in(folder: Path, cut: exports.Cut):
    folder.mkdir()
    return timeline_export.render(cut, folder)


def test_an_export_made_ahead_of_an_equal_cut_is_taken_as_it_would_be_written(tmp_path, renders, folders):
    alone_files, alone_info = render_in(tmp_path / "alone", a_cut())
    timeline_export.render_ahead(a_cut)
    files, info = render_in(tmp_path / "step", a_cut())
    assert renders == ["MainThread", "film-export-ahead"], "the step rendered it again"
    assert all(path.parent == tmp_path / "step" for path in files.values()), "the store links what is in the workdir"
    assert digests(files) == digests(alone_files) and info == alone_info
    assert not folders[0].exists() and timeline_export._ahead == []


def test_an_export_made_ahead_of_another_cut_is_dropped_and_its_folder_removed(tmp_path, renders, folders):
    timeline_export.render_ahead(lambda: a_cut("a harbour at dusk"))  # a prompt the step's cut does not have
    files, _ = render_in(tmp_path / "step", a_cut())
    assert renders == ["film-export-ahead", "MainThread"]
    assert not folders[0].exists(), "the export not taken is left behind"
    assert digests(files) == digests(render_in(tmp_path / "alone", a_cut())[0])
    assert timeline_export._ahead == []


def test_an_export_that_failed_ahead_is_rendered_by_the_step(tmp_path, renders, folders):
    def unreadable() -> exports.Cut:
        raise OSError("the voice-over's manifest could not be read")

    timeline_export.render_ahead(unreadable)
    files, _ = render_in(tmp_path / "step", a_cut())
    assert renders == ["MainThread"]
    assert digests(files) == digests(render_in(tmp_path / "alone", a_cut())[0])
    assert not folders[0].exists() and timeline_export._ahead == []
