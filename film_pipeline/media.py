"""Reading and writing pictures, video and sound files, through the ffmpeg that imageio-ffmpeg ships.

Intermediate clips are near-lossless H.264 (CRF 12); audio is 48 kHz float32 in memory and
16-bit PCM WAV on disk.

Every ffmpeg command line the project builds starts here, always with `-nostdin`: other modules
build theirs with `ffmpeg_args` (or run them with `run_ffmpeg` / `popen_ffmpeg`), as the video
frame reader and writer below do. (moviepy, used only by bench/naive_cut.py's baseline, starts its
own.)
"""

import contextlib
import hashlib
import os
import re
import subprocess
import tempfile
import threading
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from film_pipeline.mp4_index import sound_digest

SAMPLE_RATE = 48_000
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
# Upscaled clips and the cut's composed segments share these settings, so the cut can stream-copy clips.
MASTER_CRF = 16
# Without it ffmpeg watches stdin for keys and logs "Press [q] to stop, [?] for help", which can land
# inside the stream listing the frame reader parses (imageio-ffmpeg's reader, used before, then failed
# at random with "Could not load meta information"); it also keeps ffmpeg off a terminal's settings
# and off input meant for the parent process.
NO_STDIN = "-nostdin"


# What ffmpeg prints about itself (version, build, libraries) and about its inputs and outputs:
# noise in an error message, where only the lines that say what went wrong belong.
_FFMPEG_NOISE = re.compile(
    r"^\s*(ffmpeg version |built with |configuration: |lib(av|sw|post)\w+\s+\d|Input #|Output #|Metadata:|"
    r"Duration: |Stream #|Stream mapping:|Side data:|Press \[q\])|^\s{4,}[\w ]+: ")


def without_ffmpeg_banner(text: str) -> str:
    """`text` without ffmpeg's banner and stream listings (the lines that say what failed stay)."""
    return "\n".join(line for line in text.splitlines() if line.strip() and not _FFMPEG_NOISE.match(line))


def ffmpeg_args(*args: str) -> list[str]:
    """The command line that runs ffmpeg with `args`: the binary, `-nostdin`, `-hide_banner`, then `args`."""
    return [FFMPEG, NO_STDIN, "-hide_banner", *args]


def run_ffmpeg(*args: str, **subprocess_kwargs) -> subprocess.CompletedProcess:
    """`subprocess.run` of `ffmpeg_args(*args)`; keyword arguments go to `subprocess.run`."""
    return subprocess.run(ffmpeg_args(*args), **subprocess_kwargs)


def popen_ffmpeg(*args: str, **subprocess_kwargs) -> subprocess.Popen:
    """`subprocess.Popen` of `ffmpeg_args(*args)`, for ffmpeg that runs beside other work."""
    return subprocess.Popen(ffmpeg_args(*args), **subprocess_kwargs)


def ffmpeg_version() -> tuple[str | None, str]:
    """(ffmpeg's version, or None when it does not answer as ffmpeg does, the binary's path);
    OSError or TimeoutExpired when it does not run at all (`film doctor`)."""
    result = run_ffmpeg("-version", capture_output=True, text=True, timeout=30, errors="replace")
    found = re.match(r"ffmpeg version (\S+)", result.stdout)
    return (found.group(1) if found and result.returncode == 0 else None), FFMPEG


# The delivery's colours: RGB to YUV with the BT.709 matrix, `tv` range, and the stream tagged BT.709
# throughout (primaries, transfer, matrix), as a web player and an editor expect HD video to be.
BT709 = ["-vf", "scale=out_color_matrix=bt709:out_range=tv", "-colorspace", "bt709", "-color_primaries", "bt709",
         "-color_trc", "bt709", "-color_range", "tv"]


def write_video(path: Path, frames: Iterable[np.ndarray], fps: int, size: tuple[int, int], crf: int = 12,
                bt709: bool = False) -> int:
    """Encode RGB uint8 frames of `size` (w, h) to H.264 MP4; returns the frame count. With `bt709`
    the pixels are converted and tagged as BT.709 (every file of the delivery: `write_master`)."""
    # yuv420p twice, as imageio-ffmpeg's writer put it: the command line every stored clip was made with
    return _encode(path, frames, fps, size, "rgb24", ["-vcodec", "libx264", "-pix_fmt", "yuv420p", "-crf", str(crf),
                                                      "-preset", "fast", "-pix_fmt", "yuv420p", "-threads", "2",
                                                      *(BT709 if bt709 else [])])


def write_master(path: Path, frames: Iterable[np.ndarray], fps: int, size: tuple[int, int]) -> int:
    """A file of the delivery (an upscaled clip, a composed part of the cut): the cut's own x264
    settings and BT.709 colours, so that the cut joins them by stream copy."""
    return write_video(path, frames, fps, size, crf=MASTER_CRF, bt709=True)


def write_alpha_video(path: Path, frames: Iterable[np.ndarray], fps: int, size: tuple[int, int]) -> int:
    """Encode RGBA uint8 frames of `size` to a QuickTime file that keeps the alpha (PNG codec): an
    overlay an editor lays over other pictures. Returns the frame count."""
    return _encode(path, frames, fps, size, "rgba", ["-vcodec", "png", "-pix_fmt", "rgba", "-f", "mov"])


# The frame reader and writer start ffmpeg themselves rather than through imageio-ffmpeg's
# read_frames and write_frames (their command lines are the same, so are the bytes written and the
# pixels read), for three costs those had in every render, measured on a 32-shot film's first render:
# - they gave ffmpeg its own process group with `preexec_fn=os.setpgrp`, and any `preexec_fn` makes
#   Python fork the whole process instead of vfork-ing it: 15-36 ms a start in a render holding
#   torch and Dagster (187 starts: 6.7 s of a 29-s render), under 1 ms through `process_group`;
# - the reader waited for ffmpeg's stream listing in 10-ms sleeps, read 20 bytes of it at a time,
#   and the writer waited for ffmpeg's exit in 10-ms sleeps: a clip was read in 39 ms, now 22 ms;
# - the writer never looked at ffmpeg's exit status: a file ffmpeg failed to write went on as made.
# ffmpeg keeps a process group of its own, so Ctrl-C in a terminal reaches `film` (which stops the
# step) and not ffmpeg in the middle of a file.

def _encode(path: Path, frames: Iterable[np.ndarray], fps: int, size: tuple[int, int], pix_fmt: str,
            output: list[str]) -> int:
    """Pipe raw `pix_fmt` frames of `size` into ffmpeg, which encodes them to `path` with `output`."""
    rate = str(Fraction(fps).limit_denominator())
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe: ffmpeg never waits for us to read it
        process = popen_ffmpeg("-y", "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{size[0]}x{size[1]}",
                               "-pix_fmt", pix_fmt, "-r", rate, "-i", "-", "-an", *output, "-v", "error", str(path),
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, process_group=0)
        count = 0
        try:
            for frame in frames:
                process.stdin.write(memoryview(np.ascontiguousarray(frame, dtype=np.uint8)))
                count += 1
        except BrokenPipeError:
            pass  # ffmpeg stopped early: its exit status and message say why
        except BaseException:
            process.kill()  # an interrupted step or a failed frame source: no half-written file is kept going
            raise
        finally:
            with contextlib.suppress(OSError):  # the end of the frames; ffmpeg may be gone with bytes unflushed
                process.stdin.close()
            status = process.wait()
        if status:
            errors.seek(0)
            said = without_ffmpeg_banner(errors.read().decode(errors="replace")) or f"exit status {status}"
            raise RuntimeError(f"ffmpeg could not write {path}: {said}")
    return count


def read_video(path: Path) -> Iterator[np.ndarray]:
    """Decode a video to RGB uint8 frames, one at a time (never the whole clip in memory)."""
    process = popen_ffmpeg("-nostats", "-i", str(path), "-pix_fmt", "rgb24", "-vcodec", "rawvideo", "-f", "image2pipe",
                           "-", stdout=subprocess.PIPE, stderr=subprocess.PIPE, process_group=0)
    try:
        width, height = _output_size(process, path)
        frame = width * height * 3
        while raw := process.stdout.read(frame):
            if len(raw) < frame:
                raise RuntimeError(f"{path} ended inside a frame ({len(raw)} of its {frame} bytes)")
            yield np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)
    finally:
        if process.poll() is None:
            process.kill()  # the reader stopped early: nothing more to decode
        process.wait()
        process.stdout.close()


_OUTPUT_SIZE = re.compile(rb"Stream #.*: Video: .* (\d+)x(\d+)[, ]")


def _output_size(process: subprocess.Popen, path: Path) -> tuple[int, int]:
    """The size of the frames ffmpeg writes, from its listing of its output's stream; the rest of
    what it says is read on a thread of its own, so that ffmpeg never waits on a full pipe."""
    said, listing_output = [], False
    while line := process.stderr.readline():
        said.append(line)
        if line.startswith(b"Output #"):
            listing_output = True
        elif listing_output and (found := _OUTPUT_SIZE.search(line)):
            threading.Thread(target=_drain, args=(process.stderr,), daemon=True).start()
            return int(found.group(1)), int(found.group(2))
    process.stderr.close()
    lines = without_ffmpeg_banner(b"".join(said).decode(errors="replace")).splitlines()
    raise OSError(f"ffmpeg could not read {path} as video: {lines[-1].strip() if lines else 'no video stream in it'}")


def _drain(stream) -> None:
    with stream:
        while stream.read(1 << 16):
            pass


@dataclass(frozen=True)
class VideoInfo:
    frames: int
    fps: float
    width: int
    height: int
    duration: float
    audio_codec: str | None
    video_codec: str | None


def probe(path: Path) -> VideoInfo:
    """Count the decoded frames and read the stream headers of a media file."""
    frames = sum(1 for _ in read_video(path))
    header = run_ffmpeg("-i", str(path), capture_output=True, text=True).stderr
    video = re.search(r"Video: (\w+).*?, (\d+)x(\d+).*?, ([\d.]+) fps", header)
    audio = re.search(r"Audio: (\w+)", header)
    fps = float(video.group(4)) if video else 0.0
    return VideoInfo(
        frames=frames, fps=fps, width=int(video.group(2)) if video else 0,
        height=int(video.group(3)) if video else 0, duration=frames / fps if fps else 0.0,
        audio_codec=audio.group(1) if audio else None, video_codec=video.group(1) if video else None,
    )


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write float samples in [-1, 1], shape (n,) or (n, channels), as 16-bit PCM."""
    samples = np.atleast_2d(samples.T).T if samples.ndim == 1 else samples
    with WavWriter(path, samples.shape[1], rate) as out:
        out.write(samples)


class WavWriter:
    """A 16-bit PCM WAV written a span of (n, channels) float samples at a time, with the same
    conversion as `write_wav`: a feature's soundtrack is written without holding it whole."""

    def __init__(self, path: Path, channels: int, rate: int = SAMPLE_RATE):
        self.path, self.channels, self.rate = path, channels, rate

    def __enter__(self) -> "WavWriter":
        self.out = wave.open(str(self.path), "wb")
        self.out.setnchannels(self.channels)
        self.out.setsampwidth(2)
        self.out.setframerate(self.rate)
        return self

    def write(self, samples: np.ndarray) -> None:
        self.out.writeframes((np.clip(samples, -1.0, 1.0) * 32767).round().astype("<i2").tobytes())

    def __exit__(self, *exc) -> None:
        self.out.close()


def read_wav(path: Path, start: int = 0, stop: int | None = None) -> np.ndarray:
    """A 16-bit PCM WAV as written by `write_wav`: float samples, shape (n, channels), no remixing;
    frames `start` to `stop` of it (all by default)."""
    with wave.open(str(path), "rb") as source:
        if source.getsampwidth() != 2:
            raise ValueError(f"{path} is not 16-bit PCM")
        stop = source.getnframes() if stop is None else min(stop, source.getnframes())
        source.setpos(start)
        raw = source.readframes(max(0, stop - start))
        return (np.frombuffer(raw, dtype="<i2").reshape(-1, source.getnchannels()) / 32767).astype(np.float32)


def wav_shape(path: Path) -> tuple[int, int, int]:
    """A WAV's (frames, channels, rate), read from its header."""
    with wave.open(str(path), "rb") as source:
        return source.getnframes(), source.getnchannels(), source.getframerate()


def read_audio(path: Path, rate: int = SAMPLE_RATE, channels: int = 1) -> np.ndarray:
    """Decode any audio file to float32 samples at `rate`, shape (n, channels), resampled by ffmpeg.
    A 16-bit PCM WAV already at `rate` with `channels` is read here instead, with ffmpeg's own
    conversion (sample / 32768): the same floats without a process per file (a feature's
    soundtrack reads two thousand voice-overs)."""
    same = _pcm16_wav(path, rate, channels)
    if same is not None:
        return same
    raw = run_ffmpeg("-v", "error", "-i", str(path), "-f", "f32le", "-ac", str(channels), "-ar", str(rate), "-",
                     capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels).copy()


def audio_frames(path: Path, rate: int = SAMPLE_RATE) -> int:
    """`len(read_audio(path, rate))`: for a mono 16-bit PCM WAV at `rate` (what the voices are
    stored as), its header's frame count, without reading a sample (a feature's timeline export and
    subtitles count two thousand voice-overs); any other file is decoded and counted."""
    try:
        with wave.open(str(path), "rb") as source:
            if _plain_pcm16(source, rate, 1):
                return source.getnframes()
    except (wave.Error, EOFError, OSError):
        pass
    return len(read_audio(path, rate))


def _plain_pcm16(source: wave.Wave_read, rate: int, channels: int) -> bool:
    """Whether an open WAV is uncompressed 16-bit PCM at `rate` with `channels`: samples read as ffmpeg reads them."""
    return (source.getsampwidth(), source.getframerate(), source.getnchannels(), source.getcomptype()) == \
        (2, rate, channels, "NONE")


def _pcm16_wav(path: Path, rate: int, channels: int) -> np.ndarray | None:
    """The samples of a plain 16-bit PCM WAV with this rate and channel count, as ffmpeg converts
    them to float (x / 32768); None for any other file."""
    try:
        with wave.open(str(path), "rb") as source:
            if not _plain_pcm16(source, rate, channels):
                return None
            raw = source.readframes(source.getnframes())
    except (wave.Error, EOFError, OSError):
        return None
    return (np.frombuffer(raw, dtype="<i2").astype(np.float32) * np.float32(1 / 32768)).reshape(-1, channels)


def thumbnail(image: Image.Image, width: int = 320) -> Image.Image:
    height = max(1, round(image.height * width / image.width))
    return image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)


def reset_peak_memory() -> None:
    """Start a new peak-memory measurement for this process (Linux; elsewhere a no-op)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_memory_mb() -> float:
    """The process's peak resident memory since the last reset, in MiB (0 where unknown)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


# ---- loudness: measuring (EBU R128) and changing the level --------------------------------------

@dataclass(frozen=True)
class Loudness:
    """What a meter reads of a programme: integrated loudness (LUFS), true peak (dBTP), range (LU)."""
    integrated: float
    true_peak: float
    range: float


_SUMMARY_VALUE = re.compile(r"^\s*(I|LRA|Peak):\s+(-?[\d.]+|-inf)\s", re.M)


def ebur128(path: Path) -> Loudness:
    """The programme's loudness as ffmpeg's `ebur128` meter reads it (with `peak=true`: the true
    peak, 4x oversampled). The meter the loudness check uses, independent of the mastering."""
    run = run_ffmpeg("-nostats", "-i", str(path), "-map", "0:a:0", "-filter:a", "ebur128=peak=true:framelog=quiet",
                     "-f", "null", "-", capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"ffmpeg could not measure the loudness of {path}: {without_ffmpeg_banner(run.stderr)}")
    summary = run.stderr[run.stderr.rfind("Summary:"):]
    found = {name: float(value) for name, value in _SUMMARY_VALUE.findall(summary)}
    if not {"I", "LRA", "Peak"} <= set(found):
        raise RuntimeError(f"ffmpeg's ebur128 summary for {path} is not readable: {summary.strip()[:300]}")
    return Loudness(found["I"], found["Peak"], found["LRA"])


def ffmpeg_identity() -> str:
    """The ffmpeg binary's path, size and modification time: changes when ffmpeg is replaced,
    without running it (for what is kept of its measurements)."""
    binary = os.stat(FFMPEG)
    return f"{FFMPEG}:{binary.st_size}:{binary.st_mtime_ns}"


@dataclass(frozen=True)
class Pass:
    """What one pass over a film read: the decoders' errors, its video and audio streams' packets as
    framemd5 lists them (None for a stream the file does not have), or, in the audio's place, the
    digest of its sound track read from the MP4's own index (`mp4_index.sound_digest`)."""

    errors: str
    video_listing: bytes | None
    audio_listing: bytes | None
    indexed_sound_digest: str | None = None

    @property
    def video_packets(self) -> int | None:
        """The video stream's packets, read without decoding (each of our H.264 frames is one packet)."""
        return None if self.video_listing is None else len(packet_lines(self.video_listing))

    @property
    def audio_digest(self) -> str | None:
        """A digest of the first audio stream: two files with the same digest decode to the same
        samples. From an MP4's index where it reads one, else sha256 of the stream copy's framemd5
        listing: its codec, sample rate, layout and extradata, then each packet's timestamps,
        duration, side data and bytes (an MD5 each: FFmpeg's own regression tests compare streams
        so, and a SHA-256 each makes the listing a third slower to write)."""
        if self.indexed_sound_digest is not None:
            return self.indexed_sound_digest
        return None if self.audio_listing is None else hashlib.sha256(self.audio_listing).hexdigest()


def video_packets(path: Path) -> int:
    """How many packets the file's first video stream holds (a frame each, as the clips are encoded),
    listed as a stream copy: the container is read, no frame is decoded."""
    listing = run_ffmpeg("-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-",
                         capture_output=True, check=True).stdout
    return len(packet_lines(listing))


def packet_lines(listing: bytes) -> list[bytes]:
    """A framemd5 listing's packet lines, in order (its `#` lines say what the stream is)."""
    return [line for line in listing.splitlines() if line.strip() and not line.startswith(b"#")]


def list_packets(path: Path) -> Pass:
    """A film's first video and audio streams' packets, listed as stream copies to framemd5 in one
    read of the file, nothing decoded (`Pass.errors`: the demuxer's, such as a truncated file's).
    The audio is not listed where the MP4's index gives its digest (`mp4_index.sound_digest`)."""
    indexed = sound_digest(path)
    with tempfile.TemporaryDirectory(prefix="listing-") as folder:
        video, sound = Path(folder) / "video.framemd5", Path(folder) / "audio.framemd5"
        # an optional map that matches nothing leaves the output to ffmpeg's own choice of streams:
        # each listing says which kind of stream it holds, and only the right kind is kept
        audio = [] if indexed else ["-map", "0:a:0?", "-c", "copy", "-f", "framemd5", str(sound)]
        run = run_ffmpeg("-v", "error", "-i", str(path), "-map", "0:v:0?", "-c", "copy", "-f", "framemd5", str(video),
                         *audio, capture_output=True)
        return Pass(_decoder_errors(run), _listing_of(video, b"video"), None if indexed else _listing_of(sound, b"audio"),
                    indexed)


def decode_stream(path: Path, kind: str, start: float | None = None, frames: int | None = None) -> tuple[str, int]:
    """Decode the file's first stream of `kind` ("v" or "a") to nothing: (the decoder's errors, or
    "", and how many frames came out). From `start` seconds, ffmpeg seeks to the keyframe at or
    before it, decodes from there and lets out the frames from `start` on; `frames` stops it after
    that many."""
    seek = ["-ss", f"{start:.6f}"] if start is not None else []
    count = ["-frames:v", str(frames)] if frames is not None else []
    run = run_ffmpeg("-v", "error", "-nostats", "-progress", "pipe:1", *seek, "-i", str(path), "-map", f"0:{kind}:0",
                     *count, "-f", "null", "-", capture_output=True)
    decoded = re.findall(rb"^frame=(\d+)", run.stdout, re.MULTILINE)
    return _decoder_errors(run), int(decoded[-1]) if decoded else 0


def _decoder_errors(run: subprocess.CompletedProcess) -> str:
    errors = without_ffmpeg_banner(run.stderr.decode(errors="replace")).strip()
    if run.returncode and not errors:
        errors = f"ffmpeg exited with status {run.returncode}"
    return errors


def _listing_of(path: Path, kind: bytes) -> bytes | None:
    try:
        listing = path.read_bytes()
    except OSError:
        return None
    return listing if re.search(rb"^#media_type 0: " + kind + rb"$", listing, re.MULTILINE) else None


def scale_audio(source: Path, out: Path, gain_db: float) -> None:
    """`source` with its level changed by `gain_db` (a plain gain), as 48 kHz 16-bit PCM WAV."""
    run_ffmpeg("-v", "error", "-y", "-i", str(source), "-filter:a", f"volume={gain_db:.4f}dB", "-c:a", "pcm_s16le",
               "-ar", str(SAMPLE_RATE), str(out), check=True, capture_output=True)
