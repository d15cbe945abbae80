"""The backlog of a render's deferred specs: each shot's recorded before its run, in chunks that
double, each shot once, and every one that remains before the film's run."""

from film_pipeline.observation import FIRST_CHUNK, LARGEST_CHUNK, SpecBacklog


def backlog_of(shots: list[str]) -> tuple[SpecBacklog, list[list[str]]]:
    batches: list[list[str]] = []
    return SpecBacklog(shots, lambda chunk: batches.append(list(chunk))), batches


def test_the_first_shot_waits_for_a_small_chunk_and_chunks_double_in_film_order():
    shots = [f"s{i:04d}" for i in range(100)]
    backlog, batches = backlog_of(shots)
    assert len(backlog) == len(shots) and batches == []
    backlog.before_run("s0000")
    assert batches == [shots[:FIRST_CHUNK]]
    for shot in shots[1:FIRST_CHUNK]:
        backlog.before_run(shot)  # already recorded: nothing more
    assert len(batches) == 1
    backlog.before_run(shots[FIRST_CHUNK])
    assert batches[1] == shots[FIRST_CHUNK:3 * FIRST_CHUNK]
    assert backlog.shots() == shots[3 * FIRST_CHUNK:]


def test_chunks_stop_growing_at_the_largest():
    backlog, batches = backlog_of([f"s{i:05d}" for i in range(4 * LARGEST_CHUNK)])
    while len(backlog):
        backlog.before_run(backlog.shots()[0])
    sizes = [len(batch) for batch in batches]
    assert sizes[0] == FIRST_CHUNK and max(sizes) == LARGEST_CHUNK
    assert all(later in (earlier * 2, LARGEST_CHUNK) or later < earlier for earlier, later in zip(sizes, sizes[1:]))


def test_a_shot_run_out_of_order_is_recorded_first_with_the_chunk_ahead_of_it():
    backlog, batches = backlog_of(["a", "b", "c"])
    backlog.before_run("c")
    assert batches == [["c", "a", "b"]] and len(backlog) == 0


def test_the_films_run_and_the_end_of_a_render_record_whatever_remains_once():
    backlog, batches = backlog_of([f"s{i}" for i in range(20)])
    backlog.before_run("s0")
    backlog.before_run(None)  # the film-level run needs every shot's specs
    assert len(backlog) == 0 and batches[1] == [f"s{i}" for i in range(FIRST_CHUNK, 20)]
    backlog.record_all()
    backlog.before_run("s3")
    recorded = [shot for batch in batches for shot in batch]
    assert len(recorded) == len(set(recorded)) == 20, "each deferred shot is recorded exactly once"
    assert all(batches), "no empty batch"


def test_a_shot_that_was_not_deferred_records_nothing():
    backlog, batches = backlog_of(["a"])
    backlog.before_run("z")
    assert batches == [] and len(backlog) == 1
