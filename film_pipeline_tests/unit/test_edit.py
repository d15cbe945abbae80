"""The final cut's assembly: hard cuts are stream-copied, transitions and the title are composed."""

import numpy as np
import pytest

from film_pipeline import edit
from film_pipeline.media import probe, read_audio, read_video, read_wav, write_master, write_wav
from film_pipeline.timeline import layout

FPS, SIZE = 8, (64, 36)


def _clip(path, frames, shade):
    """A clip whose every frame differs (a moving bar) so a dropped or doubled frame shows."""
    def picture(index):
        image = np.full((SIZE[1], SIZE[0], 3), shade, np.uint8)
        image[:, (index * 4) % SIZE[0]:(index * 4) % SIZE[0] + 4] = 255 - shade
        return image
    write_master(path, (picture(i) for i in range(frames)), FPS, SIZE)
    return path


def _cut(tmp_path, shots):
    placements = layout(shots, FPS)
    clips = [(p, _clip(tmp_path / f"{p.shot_id}.mp4", p.frames, 40 + 50 * i)) for i, p in enumerate(placements)]
    sound = tmp_path / "sound.wav"
    write_wav(sound, np.zeros(edit.total_frames(placements) * 48_000 // FPS, np.float32))
    out, poster = tmp_path / "cut.mp4", tmp_path / "poster.png"
    frames = edit.assemble(clips, sound, "Title", "a logline", FPS, SIZE, out, poster)
    return placements, clips, out, poster, frames


def test_segments_copy_hard_cuts_and_compose_the_title_fades_and_dissolves():
    placements = layout([("a", 1, "cut"), ("b", 1, "cut"), ("c", 1, "crossfade"), ("d", 1, "cut"),
                         ("e", 1, "fade"), ("f", 1, "cut"), ("g", 1, "cut")], FPS)
    found = [([placements[i].shot_id for i in s.shots], s.composed) for s in edit.segments(placements)]
    # c dissolves into d (one segment: they overlap); e fades out and f fades in, each on its own
    assert found == [(["a"], True), (["b"], False), (["c", "d"], True), (["e"], True), (["f"], True), (["g"], False)]
    spans = [s.span(placements) for s in edit.segments(placements)]
    assert [start for start, _ in spans[1:]] == [end for _, end in spans[:-1]], "segments must tile the film"


def test_a_hard_cut_shot_is_copied_frame_for_frame(tmp_path):
    placements, clips, out, poster, frames = _cut(tmp_path, [("a", 1, "cut"), ("b", 1.5, "cut"), ("c", 1, "cut")])
    info = probe(out)
    assert (frames, info.frames, info.video_codec, info.audio_codec) == (28, 28, "h264", "aac")
    assert abs(len(read_audio(out)) / 48_000 - 28 / FPS) < 0.05
    cut = list(read_video(out))
    for placement, path in clips[1:]:  # stream copy: the very pixels the clip decodes to
        assert all(np.array_equal(a, b) for a, b in zip(cut[placement.start:placement.end], read_video(path)))
    assert not np.array_equal(cut[3], next(iter(read_video(clips[0][1])))), "the title lies over the first shot"
    assert poster.exists()


def test_a_crossfade_blends_and_a_fade_goes_through_black(tmp_path):
    placements, clips, out, _, frames = _cut(tmp_path, [("a", 1, "crossfade"), ("b", 1, "fade"), ("c", 1, "cut")])
    cut = list(read_video(out))
    assert len(cut) == frames == 8 + 8 + 8 - 4
    middle = cut[placements[1].start + 1].astype(int)[:, -8:].mean()  # inside the dissolve, away from the bars
    assert 40 + 5 < middle < 90 - 5
    assert cut[placements[1].end - 1].mean() < 30 and cut[placements[2].start].mean() < 40


def test_composed_segments_are_kept_and_only_what_an_edit_touched_is_composed_again(tmp_path):
    from film_pipeline.store import sha256_file

    shots = [("a", 1, "cut"), ("b", 1, "crossfade"), ("c", 1, "cut"), ("d", 1, "fade"), ("e", 1, "cut")]
    placements = layout(shots, FPS)
    clips = [(p, _clip(tmp_path / f"{p.shot_id}.mp4", p.frames, 40 + 50 * i)) for i, p in enumerate(placements)]
    sound = tmp_path / "sound.wav"
    write_wav(sound, np.zeros(edit.total_frames(placements) * 48_000 // FPS, np.float32))
    cache = tmp_path / "cache"

    def cut(name):
        out = tmp_path / f"{name}.mp4"
        edit.assemble(clips, sound, "Title", None, FPS, SIZE, out, tmp_path / f"{name}.png", cache=cache)
        return out

    first = cut("first")
    kept = {p.name for p in cache.glob("*.mp4")}
    assert len(kept) == 4  # [a] (the title), [b c] (b dissolves into c), [d] (fades out), [e] (fades in)
    again = cut("again")
    assert sha256_file(again) == sha256_file(first) and {p.name for p in cache.glob("*.mp4")} == kept
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "first.png").read_bytes(), "the poster comes too"
    clips[3] = (clips[3][0], _clip(tmp_path / "d2.mp4", clips[3][0].frames, 7))  # shot d re-rendered
    cut("edited")
    assert len({p.name for p in cache.glob("*.mp4")} - kept) == 1, "only d's segment is composed again"
    uncached = tmp_path / "uncached.mp4"
    edit.assemble(clips, sound, "Title", None, FPS, SIZE, uncached, tmp_path / "uncached.png")
    assert sha256_file(uncached) == sha256_file(tmp_path / "edited.mp4"), "a kept segment is the bytes it would be"


def test_a_long_cut_joins_its_parts_in_kept_runs_into_the_same_bytes_and_an_edit_rejoins_one_run(tmp_path,
                                                                                                    monkeypatch):
    from film_pipeline.store import sha256_file

    monkeypatch.setattr(edit, "RUN", 4)  # runs of 4 parts: 20 shots make a "long" film
    shots = [(f"s{i}", 0.5, "crossfade" if i % 7 == 3 else "cut") for i in range(20)]
    placements = layout(shots, FPS)
    clips = [(p, _clip(tmp_path / f"{p.shot_id}.mp4", p.frames, 30 + 10 * i)) for i, p in enumerate(placements)]
    sound = tmp_path / "sound.wav"
    write_wav(sound, np.zeros(edit.total_frames(placements) * 48_000 // FPS, np.float32))
    cache = tmp_path / "cache"

    def cut(name, kept_in=cache):
        out = tmp_path / f"{name}.mp4"
        edit.assemble(clips, sound, "Title", None, FPS, SIZE, out, tmp_path / f"{name}.png", cache=kept_in)
        return out

    parts = len(edit.segments(placements))
    first = cut("first")
    runs = {p.name for p in cache.glob("run-*.mp4")}
    assert parts > 2 * edit.RUN and len(runs) == -(-(parts - 1) // edit.RUN)
    assert sha256_file(first) == sha256_file(cut("plain", None)), "joined in runs, the cut is the same bytes"
    assert len(list(read_video(first))) == edit.total_frames(placements)
    clips[10] = (clips[10][0], _clip(tmp_path / "s10-again.mp4", clips[10][0].frames, 250))  # a hard-cut shot re-made
    edited = cut("edited")
    assert len({p.name for p in cache.glob("run-*.mp4")} - runs) == 1, "only the edited shot's run is joined again"
    assert sha256_file(edited) == sha256_file(cut("edited-plain", None))


def test_the_mastered_soundtrack_is_kept_and_mastered_again_only_when_the_sound_changes(tmp_path, monkeypatch):
    from film_pipeline.film import Delivery
    from film_pipeline.store import sha256_file

    placements = layout([("a", 1, "cut"), ("b", 1, "cut")], FPS)
    clips = [(p, _clip(tmp_path / f"{p.shot_id}.mp4", p.frames, 40 + 50 * i)) for i, p in enumerate(placements)]
    seconds = edit.total_frames(placements) / FPS
    tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * 48_000)) / 48_000)).astype(np.float32)
    sound, cache, delivery = tmp_path / "sound.wav", tmp_path / "cache", Delivery()
    write_wav(sound, tone)

    def cut(name):
        report = {}
        edit.assemble(clips, sound, "Title", None, FPS, SIZE, tmp_path / f"{name}.mp4", tmp_path / f"{name}.png",
                      delivery=delivery, report=report, cache=cache)
        return tmp_path / f"{name}.mp4", report

    first, measured = cut("first")
    assert measured["mastering"] == "linear gain" and abs(measured["loudness"] - delivery.loudness) < 1

    def no_mastering(*args):
        raise AssertionError("the soundtrack was mastered again")

    monkeypatch.setattr(edit, "_deliver_audio", no_mastering)
    again, kept = cut("again")
    assert kept == measured and sha256_file(again) == sha256_file(first)
    checked = {path: sha256_file(path) for path in [sound, *(clip for _, clip in clips)]}  # as the caller checked them
    monkeypatch.setattr(edit, "sha256_file", lambda path: pytest.fail(f"{path.name} was hashed again"))
    edit.assemble(clips, sound, "Title", None, FPS, SIZE, tmp_path / "told.mp4", tmp_path / "told.png",
                  delivery=delivery, cache=cache, soundtrack_sha256=checked[sound], clip_sha256=checked)
    assert sha256_file(tmp_path / "told.mp4") == sha256_file(first)
    monkeypatch.setattr(edit, "sha256_file", sha256_file)
    write_wav(sound, tone * 0.5)  # a new mix: mastered again
    with np.testing.assert_raises(AssertionError):
        cut("new-mix")
    monkeypatch.undo()
    uncached = tmp_path / "uncached.mp4"
    write_wav(sound, tone)
    edit.assemble(clips, sound, "Title", None, FPS, SIZE, uncached, tmp_path / "uncached.png", delivery=delivery)
    assert sha256_file(uncached) == sha256_file(first), "the kept soundtrack is the bytes it would be"


def test_the_title_overlay_is_kept_and_made_again_for_another_title(tmp_path, monkeypatch):
    from film_pipeline.store import sha256_file

    card, cache = edit.title_card("Title", "a logline", SIZE), tmp_path / "cache"
    edit.write_title_overlay(card, 12, FPS, SIZE, tmp_path / "fresh.mov")
    edit.write_title_overlay(card, 12, FPS, SIZE, tmp_path / "first.mov", cache)
    monkeypatch.setattr(edit, "write_alpha_video", lambda *args: (_ for _ in ()).throw(AssertionError("made again")))
    edit.write_title_overlay(card, 12, FPS, SIZE, tmp_path / "kept.mov", cache)
    assert sha256_file(tmp_path / "kept.mov") == sha256_file(tmp_path / "first.mov") == sha256_file(tmp_path / "fresh.mov")
    other = edit.title_card("Another title", "a logline", SIZE)
    with np.testing.assert_raises(AssertionError):
        edit.write_title_overlay(other, 12, FPS, SIZE, tmp_path / "other.mov", cache)


def test_voice_presence_is_the_moving_average_the_mix_always_used(tmp_path):
    rate = 8_000
    rng = np.random.default_rng(5)
    voice = np.zeros(5 * rate, np.float32)
    for start in (0, rate, 3 * rate + 100, 5 * rate - 700):  # at the very start and end too
        voice[start:start + 600] = rng.standard_normal(len(voice[start:start + 600])) * 0.2
    width = int(edit.PRESENCE_SECONDS * rate)
    expected = np.convolve(np.abs(voice) > 0.01, np.ones(width) / (edit.PRESENCE_SECONDS * rate), mode="same")
    found = edit.VoicePresence(voice, rate).span(0, len(voice))
    assert found.shape == expected.shape and np.abs(found - expected).max() < 1e-12
    short = voice[:width // 2]  # shorter than the window: one value per sample still
    assert edit.VoicePresence(short, rate).span(0, len(short)).shape == short.shape
    middle = edit.VoicePresence(voice, rate).span(rate - 50, 2 * rate)  # a span alone is the same span of the whole
    assert np.array_equal(middle, found[rate - 50:2 * rate])


def _loud_programme(seconds: float, rate: int = 48_000) -> np.ndarray:
    """Stereo noise with bursts over full scale: the limiter has work everywhere."""
    rng = np.random.default_rng(11)
    samples = rng.standard_normal((int(seconds * rate), 2)).astype(np.float32) * 0.2
    for start in rng.integers(0, len(samples), 40):
        samples[start:start + 300] *= 4
    return samples


@pytest.mark.parametrize("span", [997, 4_096, 1 << 21])
def test_the_limiter_a_span_at_a_time_writes_the_very_samples_it_wrote_limiting_the_whole_file(tmp_path, span):
    write_wav(tmp_path / "mix.wav", _loud_programme(0.5))
    source = read_wav(tmp_path / "mix.wav")
    write_wav(tmp_path / "whole.wav", edit.true_peak_limit(source * np.float32(10 ** (4.0 / 20)), -2.0))
    edit.limit_wav(tmp_path / "mix.wav", tmp_path / "spans.wav", 4.0, -2.0, span=span)
    assert (tmp_path / "spans.wav").read_bytes() == (tmp_path / "whole.wav").read_bytes()
    assert np.abs(read_wav(tmp_path / "spans.wav")).max() <= 10 ** (-2.0 / 20) + 1 / 32767  # it limits (to 16 bits)


def test_the_limiter_keeps_a_file_shorter_than_its_reach_and_an_empty_one(tmp_path):
    for frames in (5, 300):
        write_wav(tmp_path / "short.wav", _loud_programme(1)[:frames])
        edit.limit_wav(tmp_path / "short.wav", tmp_path / "out.wav", 3.0, -1.0, span=100)
        expected = edit.true_peak_limit(read_wav(tmp_path / "short.wav") * np.float32(10 ** (3.0 / 20)), -1.0)
        assert np.array_equal(read_wav(tmp_path / "out.wav"), read_wav_of(tmp_path, expected)), frames
    write_wav(tmp_path / "empty.wav", np.zeros((0, 2), np.float32))
    edit.limit_wav(tmp_path / "empty.wav", tmp_path / "out.wav", 3.0, -1.0)
    assert (tmp_path / "out.wav").read_bytes() == (tmp_path / "empty.wav").read_bytes()


def read_wav_of(tmp_path, samples: np.ndarray) -> np.ndarray:
    write_wav(tmp_path / "expected.wav", samples.reshape(-1, 2))
    return read_wav(tmp_path / "expected.wav")


def test_the_mix_a_span_at_a_time_is_the_mix_of_the_whole_track(monkeypatch):
    rate, fps = 8_000, 8
    placements = layout([(f"s{i}", 2.0, "cut") for i in range(6)], fps)
    rng = np.random.default_rng(2)
    music = (rng.standard_normal((6 * 2 * rate, 2)) * 0.5).astype(np.float32)
    voices = [(placement, (rng.standard_normal(rate) * 0.7).astype(np.float32)) for placement in placements[::2]]
    whole = edit.mix_stems(music, voices, fps, rate)
    monkeypatch.setattr(edit, "MIX_SPAN", 1_001)
    spans = edit.mix_stems(music, voices, fps, rate)
    assert np.array_equal(spans[0], whole[0]) and np.array_equal(spans[1], whole[1]) and spans[2] == whole[2]
    assert np.abs(whole[0]).max() <= edit.PEAK + 1e-6  # the gain was found over all the spans
