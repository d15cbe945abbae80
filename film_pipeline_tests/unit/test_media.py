"""Every ffmpeg runs with -nostdin, through film_pipeline.media (real ffmpeg, no mocks).

Without it ffmpeg watches stdin and logs "Press [q] to stop, [?] for help", which can land
inside the stream-info lines imageio-ffmpeg parses: `read_frames` then fails at random with
"Could not load meta information".
"""

import ast
import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from film_pipeline.media import (FFMPEG, SAMPLE_RATE, WavWriter, ffmpeg_args, popen_ffmpeg, read_video, read_wav,
                                 run_ffmpeg, wav_shape, write_video, write_wav)

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "Press [q] to stop"

ALLOWED: set[str] = set()  # modules allowed to build an ffmpeg command line themselves: none


def test_command_line_starts_with_ffmpeg_and_disables_stdin():
    args = ffmpeg_args("-v", "error", "-version")
    assert args[0] == FFMPEG and Path(FFMPEG).name.startswith("ffmpeg")
    assert "-nostdin" in args
    # ffmpeg's usage puts global options before every input and output option
    assert args.index("-nostdin") < args.index("-v")
    assert args[-3:] == ["-v", "error", "-version"]
    assert run_ffmpeg("-version", capture_output=True, text=True).stdout.startswith("ffmpeg version")


def test_ffmpeg_ignores_an_open_stdin(tmp_path):
    """The prompt is what races the stream info; ffmpeg prints it whenever it watches stdin."""
    clip = tmp_path / "clip.mp4"
    write_video(clip, (np.full((36, 64, 3), 20 * i, np.uint8) for i in range(12)), 8, (64, 36))
    read_end, write_end = os.pipe()  # held open, so ffmpeg sees a live stdin with nothing on it
    try:
        ran = run_ffmpeg("-i", str(clip), "-f", "null", "-", stdin=read_end, capture_output=True, text=True,
                         timeout=60)
        with popen_ffmpeg("-i", str(clip), "-f", "null", "-", stdin=read_end, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True) as process:
            _, popen_log = process.communicate(timeout=60)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert ran.returncode == 0 and process.returncode == 0, ran.stderr + popen_log
    assert PROMPT not in ran.stderr and PROMPT not in popen_log


READ_BACK = textwrap.dedent("""
    import sys
    from pathlib import Path

    import numpy as np

    from film_pipeline.media import probe, read_video, write_video

    clip = Path(sys.argv[1])
    assert write_video(clip, (np.full((36, 64, 3), 20 * i, np.uint8) for i in range(12)), 8, (64, 36)) == 12
    counts = [sum(1 for _ in read_video(clip)) for _ in range(20)]
    assert counts == [12] * 20, counts
    assert probe(clip).frames == 12
    print("ok")
""")


@pytest.mark.parametrize("stdin", ["pipe", "terminal"])
def test_read_video_with_an_open_stdin(tmp_path, stdin):
    """A process whose stdin stays open (a CI runner's pipe, a terminal) writes a clip and reads it back."""
    out, errors = tmp_path / "out.txt", tmp_path / "errors.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-c", READ_BACK, str(tmp_path / "clip.mp4")]
    terminal = pty.openpty() if stdin == "terminal" else None
    with out.open("w") as stdout, errors.open("w") as stderr:
        # not communicate(): it would close stdin, and the point is a stdin that stays open
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr,
                                   stdin=terminal[1] if terminal else subprocess.PIPE)
        try:
            code = process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if terminal:
                os.close(terminal[0])
                os.close(terminal[1])
            else:
                process.stdin.close()
    assert code == 0 and out.read_text().strip() == "ok", errors.read_text()


def _source_files():
    for folder in ("film_pipeline", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path


def _named(node, name):
    return (isinstance(node, ast.Name) and node.id == name) or (isinstance(node, ast.Attribute) and node.attr == name)


def _ways_round_media(source):
    """(line, what) for each place that could start ffmpeg without film_pipeline.media's helpers."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(alias.name == "imageio_ffmpeg" for alias in node.names):
            yield node.lineno, "imports imageio_ffmpeg (its readers, writers and binary skip -nostdin)"
        elif isinstance(node, ast.ImportFrom) and node.module == "imageio_ffmpeg":
            yield node.lineno, "imports from imageio_ffmpeg (its readers, writers and binary skip -nostdin)"
        elif _named(node, "FFMPEG"):
            yield node.lineno, "uses FFMPEG"
        elif isinstance(node, (ast.List, ast.Tuple)) and node.elts and isinstance(node.elts[0], ast.Constant) \
                and isinstance(node.elts[0].value, str) and Path(node.elts[0].value).name in ("ffmpeg", "ffmpeg.exe"):
            yield node.lineno, f"builds a command line from {node.elts[0].value!r}"


def test_the_scan_sees_direct_command_lines():
    assert list(_ways_round_media("subprocess.run([FFMPEG, '-i', path])"))
    assert list(_ways_round_media("subprocess.run(['ffmpeg', '-i', path])"))
    assert list(_ways_round_media("import imageio_ffmpeg"))
    assert not list(_ways_round_media("run_ffmpeg('-i', path, check=True)"))


def test_only_media_builds_ffmpeg_command_lines():
    names = [name for name, _ in _source_files()]
    assert "film_pipeline/edit.py" in names and "bench/results.py" in names
    found = [f"{name}:{line}: {what}" for name, path in _source_files()
             if name != "film_pipeline/media.py" and name not in ALLOWED
             for line, what in sorted(set(_ways_round_media(path.read_text())))]
    assert not found, "start ffmpeg through film_pipeline.media (ffmpeg_args / run_ffmpeg / popen_ffmpeg):\n" \
        + "\n".join(found)


def test_a_wav_read_without_ffmpeg_has_the_very_floats_ffmpeg_gives(tmp_path, monkeypatch):
    from film_pipeline import media

    rng = np.random.default_rng(2)
    cases = [(48_000, (9_000,)), (48_000, (9_000, 2)), (22_050, (5_000,))]
    found = []
    for rate, shape in cases:
        path = tmp_path / f"{rate}-{len(shape)}.wav"
        media.write_wav(path, np.clip(rng.standard_normal(shape) * 0.4, -1, 1).astype(np.float32), rate)
        found.append([media.read_audio(path, 48_000, channels) for channels in (1, 2)])
    assert media._pcm16_wav(tmp_path / "48000-1.wav", 48_000, 1) is not None  # the reader's own path was taken
    monkeypatch.setattr(media, "_pcm16_wav", lambda *args: None)  # ffmpeg decodes everything
    for (rate, shape), mine in zip(cases, found):
        path = tmp_path / f"{rate}-{len(shape)}.wav"
        for channels, samples in zip((1, 2), mine):
            assert np.array_equal(samples, media.read_audio(path, 48_000, channels)), (rate, shape, channels)


def test_a_voices_sample_count_read_from_its_header_is_the_count_decoding_gives(tmp_path, monkeypatch):
    from film_pipeline import media

    rng = np.random.default_rng(4)
    cases = [(48_000, (9_001,)), (48_000, (9_001, 2)), (22_050, (5_003,))]
    paths = []
    for rate, shape in cases:
        paths.append(tmp_path / f"{rate}-{len(shape)}.wav")
        media.write_wav(paths[-1], np.clip(rng.standard_normal(shape) * 0.4, -1, 1).astype(np.float32), rate)
    (tmp_path / "not.wav").write_bytes(b"RIFF but not a wave")
    decoded = [len(media.read_audio(path)) for path in paths]
    assert decoded[0] == 9_001 and decoded[2] == round(5_003 * 48_000 / 22_050)
    with pytest.raises(subprocess.CalledProcessError):
        media.audio_frames(tmp_path / "not.wav")  # not a WAV: decoded, and the decoder's error stands
    reads = []
    monkeypatch.setattr(media, "read_audio", lambda path, rate=48_000: reads.append(path) or np.zeros((decoded[paths.index(path)], 1)))
    assert [media.audio_frames(path) for path in paths] == decoded
    assert reads == paths[1:]  # the mono 48 kHz voice from its header alone; the others decoded


def test_a_wav_written_and_read_a_span_at_a_time_is_the_wav_written_and_read_whole(tmp_path):
    samples = (np.random.default_rng(3).standard_normal((10_001, 2)) * 0.6).astype(np.float32)  # some clip
    write_wav(tmp_path / "whole.wav", samples)
    with WavWriter(tmp_path / "spans.wav", 2) as out:
        for start in range(0, len(samples), 3_000):
            out.write(samples[start:start + 3_000])
    assert (tmp_path / "spans.wav").read_bytes() == (tmp_path / "whole.wav").read_bytes()
    whole = read_wav(tmp_path / "whole.wav")
    assert whole.shape == samples.shape and wav_shape(tmp_path / "whole.wav") == (10_001, 2, SAMPLE_RATE)
    assert np.array_equal(read_wav(tmp_path / "whole.wav", 2_999, 7_001), whole[2_999:7_001])
    assert np.array_equal(read_wav(tmp_path / "whole.wav", 9_000, 20_000), whole[9_000:])


def _children_running(name: str) -> dict[int, int]:
    """This process's children whose command is `name`* (pid: process group), read from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        command, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == os.getpid() and command.startswith(name):
            found[int(entry.name)] = int(fields[2])
    return found


def test_the_ffmpeg_that_reads_and_writes_frames_is_in_a_process_group_of_its_own(tmp_path):
    """Ctrl-C in a terminal goes to the foreground group: `film` gets it and stops the step, the
    ffmpeg writing a clip does not die in the middle of its file."""
    clip = tmp_path / "clip.mp4"
    seen: list[dict[int, int]] = []

    def frames():
        for index in range(6):
            if index == 3:
                seen.append(_children_running("ffmpeg"))
            yield np.full((32, 48, 3), 40 * index, dtype=np.uint8)

    assert write_video(clip, frames(), 12, (48, 32)) == 6
    reader = read_video(clip)
    next(reader)
    seen.append(_children_running("ffmpeg"))
    assert len(list(reader)) == 5
    for children in seen:
        assert len(children) == 1, children
        (pid, group), = children.items()
        assert group == pid != os.getpgrp()


def test_ffmpeg_for_frames_starts_without_a_preexec_fn(tmp_path, monkeypatch):
    """A `preexec_fn` makes Python fork the whole process (tens of milliseconds a start in a render
    holding torch and Dagster) where it can vfork; the group of its own comes from `process_group`."""
    started = []
    real = subprocess.Popen.__init__

    def recording(self, args, *rest, **kwargs):
        started.append(kwargs)
        real(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", recording)
    clip = tmp_path / "clip.mp4"
    write_video(clip, (np.zeros((16, 16, 3), np.uint8) for _ in range(2)), 12, (16, 16))
    assert len(list(read_video(clip))) == 2
    assert len(started) == 2
    for kwargs in started:
        assert kwargs.get("preexec_fn") is None and kwargs.get("process_group") == 0


def test_a_video_ffmpeg_cannot_write_is_an_error_that_names_it(tmp_path):
    """The writer looks at ffmpeg's exit status: a clip it failed to write does not go on as made."""
    nowhere = tmp_path / "no-such-folder" / "clip.mp4"
    with pytest.raises(RuntimeError, match=r"ffmpeg could not write .*no-such-folder/clip\.mp4: .*No such file or directory"):
        write_video(nowhere, (np.zeros((16, 16, 3), np.uint8) for _ in range(3)), 12, (16, 16))


def test_a_file_that_is_no_video_is_an_error_that_names_it_and_says_why(tmp_path):
    garbage = tmp_path / "not-a-video.mp4"
    garbage.write_bytes(b"\x00not a video" * 64)
    with pytest.raises(OSError, match=r"could not read .*not-a-video\.mp4 as video: .*Invalid data found"):
        next(read_video(garbage))


def test_a_reader_stopped_early_leaves_no_ffmpeg_running(tmp_path):
    clip = tmp_path / "clip.mp4"
    write_video(clip, (np.full((64, 96, 3), 5 * index, np.uint8) for index in range(48)), 12, (96, 64))
    frames = read_video(clip)
    first = next(frames)
    assert first.shape == (64, 96, 3) and len(_children_running("ffmpeg")) == 1
    frames.close()
    assert _children_running("ffmpeg") == {}


def test_frames_written_and_read_back_keep_their_count_size_and_picture(tmp_path):
    clip = tmp_path / "clip.mp4"
    frames = [np.full((36, 64, 3), (20 * index, 100, 200 - 20 * index), np.uint8) for index in range(7)]
    assert write_video(clip, iter(frames), 12, (64, 36)) == 7
    decoded = list(read_video(clip))
    assert len(decoded) == 7 and all(frame.shape == (36, 64, 3) for frame in decoded)
    assert max(np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames, decoded)) < 3
