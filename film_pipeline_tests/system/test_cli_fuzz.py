"""Fuzzing the `film` command line: random arguments, paths, film.yaml files and FILM_HOME states.

Whatever it is given, `film` must answer as its docstring promises (film_pipeline/cli.py):
  - never a Python traceback (on stderr or stdout) and never an exception out of `main`;
  - an exit code from the documented set {0, 1, 2, 3, 4, 5, 6, 130}; argparse's usage errors exit 2;
  - a failure says so in one clear `film: ...` line on stderr (or argparse's usage message), and
    `--json` output that succeeded is one JSON document.

`film` runs in-process, `film_pipeline.cli.main(argv)`, for speed: stdout is strict UTF-8 and
stderr UTF-8 with backslashreplace, as in a real process (under a C.UTF-8 locale), and output
written straight to the file descriptors (a logging handler made before the call) is read too.

The subcommands, their arguments and flags are read from `cli._parser()`, so one added later is
fuzzed too, its values drawn by the argument's name (`film_dir`, `shot`, `take`, `--to`, ...).

What is kept from running for real, and why:
  - no render executes a step: `film_pipeline.render._run` (one Dagster run) is replaced by one
    that materializes nothing, so `render`, `pick`, `rollback` and `verify --repair` go through
    their whole CLI path (lock, film.yaml, profile, --force, plan, progress, summary) in seconds;
  - `film ui`, `film store up` and `film workers up N` (N >= 1) would start servers (dagster dev,
    SeaweedFS, Redis and Celery): `ui.serve`, `seaweed.start` and `local_workers.up` are replaced by
    stand-ins that touch FILM_HOME as the real ones do first and start nothing (`workers up` with
    N < 1 still reaches the real `up`, which refuses it before starting anything);
  - no signal is ever sent: pid files in FILM_HOME are fuzzed with no numbers in them (a pid of
    -1 or 1 would signal every process or init), and `os.kill`/`os.killpg` refuse any signal but 0.

Deterministic (derandomize, no example database); each example has a FILM_HOME and films of its
own, and the working directory is the example's folder, so relative paths never reach the repo.
"""

import argparse
import contextlib
import io
import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from film_pipeline import cli
from film_pipeline_tests.conftest import MINI_FILM

EXIT_CODES = {0, 1, 2, 3, 4, 5, 6, 130}
TRACEBACK = "Traceback (most recent call last)"
SUBCOMMANDS = sorted(next(a for a in cli._parser()._actions if a.choices and a.dest == "command").choices)
SHOTS = ("a", "b", "c")  # MINI_FILM's
ASSETS = ("storyboard", "clip", "upscaled_clip", "voiceover", "script", "characters", "soundtrack", "final_cut")

FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])


# ---- strategies ------------------------------------------------------------------------

# any character an argv can hold: no NUL, and no surrogate (the only ones an argv can decode to are
# surrogateescape's, drawn below from bytes); control characters and every script included
CHAR = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
TEXT = st.text(CHAR, max_size=40)
WEIRD = st.one_of(
    TEXT,
    st.sampled_from(["", " ", "-", "--", "..", ".", "/", "~", "-x", "--json", "--help", "-h", "a/../..", "\t", "\n",
                     "\x1b[31m", "café", "a b", "\u202e", "é", "💥", "--=", "-1", "-0", "nan", "None", "{}", "[]"]),
    TEXT.map(lambda s: "-" + s),
    TEXT.map(lambda s: "--" + s),
    st.text(CHAR, min_size=200, max_size=2000),  # long: past NAME_MAX (255) as a file name
    # bytes an argv can hold that are not UTF-8, as Python decodes them (surrogateescape)
    st.binary(min_size=1, max_size=30).filter(lambda b: b"\x00" not in b).map(os.fsdecode),
)
INTS = st.one_of(
    st.integers(-5, 10).map(str),
    st.integers().map(str),
    st.sampled_from(["0", "-1", "1", "2", "3", "65535", "65536", "70000", "2147483648", "9223372036854775808",
                     "-9223372036854775809", "9" * 60, "1_0", "0x10", " 1", "1 ", "+1", "١", "1.5", "1e3", ""]),
    WEIRD,
)
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-1e400", "-1", "0", "-0", "1e-320", "72", "1_0", "١", ""]),
    WEIRD,
)
SHOT_IDS = st.one_of(
    st.sampled_from(SHOTS), st.sampled_from(["A", "a ", " a", "d", "_", "a" * 64, "a" * 65, "1", "-a"]),
    st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,63}\Z"), WEIRD,
)
VERSIONS = st.one_of(
    st.text("0123456789abcdef", max_size=64), st.from_regex(r"\A[0-9a-f]{64}\Z"),
    st.sampled_from(["..", "../..", "../../../../../../etc/passwd", "/", "/etc/passwd", "a/b", "~", ".json", "*"]),
    WEIRD,
)
PROFILES = st.one_of(st.sampled_from(["preview", "tiny", "full", "Preview", "../preview", "preview.yaml", ""]), WEIRD)
FORCES = st.one_of(
    st.sampled_from(SHOTS + ASSETS),
    st.builds(lambda a, s: f"{a}[{s}]", st.sampled_from(ASSETS), st.one_of(st.sampled_from(SHOTS), WEIRD)),
    st.sampled_from(["[", "]", "[]", "clip[", "clip]", "[a]", "final_cut[a]", "clip[a][b]"]), WEIRD,
)
HOSTS = st.one_of(st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "localhost", "256.1.1.1"]), WEIRD)
# values that make sense, for examples that should get past the argument checks
SANE = {"shot": st.sampled_from(SHOTS), "take": st.sampled_from(["0", "1", "2"]),
        "to": st.from_regex(r"\A[0-9a-f]{64}\Z"),
        "profile": st.sampled_from(["preview", "tiny"]), "port": st.sampled_from(["0", "3000"]),
        "count": st.sampled_from(["0", "1", "2"]), "hours": st.sampled_from(["1", "72", "0.5"]),
        "gpu_hour": st.sampled_from(["2", "0", "1.5"]), "cpu_hour": st.sampled_from(["0.1", "0"]),
        "force": st.sampled_from(SHOTS + ASSETS + ("clip[a]", "voiceover[c]")), "host": st.just("127.0.0.1")}
VALUES = {"shot": SHOT_IDS, "take": INTS, "to": VERSIONS, "profile": PROFILES, "port": INTS, "count": INTS,
          "hours": FLOATS, "gpu_hour": FLOATS, "cpu_hour": FLOATS, "force": FORCES, "host": HOSTS}

# YAML values a film.yaml may hold where a writer slipped
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([0, -1, 1, 2, 10**6, 2**31, 2**63, 10**30, -10**30]),
    st.floats(), st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e-320, 1e308, -0.0]),
    TEXT, st.text(CHAR, min_size=1000, max_size=5000),
)
YAML_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(TEXT, st.integers()), inner, max_size=4)), max_leaves=12)


def _mini() -> dict:
    return YAML(typ="safe").load(MINI_FILM)


def _dump(doc) -> str:
    out = io.StringIO()
    yaml = YAML(typ="safe")
    yaml.allow_unicode = True
    yaml.dump(doc, out)
    return out.getvalue()


@st.composite
def mutated_film(draw) -> str:
    """MINI_FILM with one to three keys set to something else (or added, or removed)."""
    doc = _mini()
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["film", "shot", "character", "music", "shots"]))
        if where == "film":
            node = doc
            key = draw(st.one_of(st.sampled_from(["title", "fps", "resolution", "upscale", "seed", "profile", "expand",
                                                  "models", "schedule", "characters", "music", "shots", "style",
                                                  "logline"]), TEXT))
        elif where == "shots":
            doc["shots"] = draw(st.one_of(st.just([]), st.lists(st.fixed_dictionaries(
                {"id": SHOT_IDS, "prompt": TEXT}), min_size=1, max_size=6)))
            continue
        elif where == "shot":
            if not isinstance(doc.get("shots"), list) or not doc["shots"] or not isinstance(doc["shots"][0], dict):
                continue
            node = doc["shots"][draw(st.integers(0, len(doc["shots"]) - 1))]
            if not isinstance(node, dict):
                continue
            key = draw(st.one_of(st.sampled_from(["id", "prompt", "duration", "characters", "camera", "motion",
                                                  "narration", "voice", "transition", "seed", "takes", "pick",
                                                  "clip_takes", "clip_pick"]), TEXT))
        elif where == "character" and isinstance(doc.get("characters"), dict) and "ana" in doc["characters"]:
            node, key = doc["characters"]["ana"], draw(st.sampled_from(["description", "seed", "name"]))
        elif where == "music" and isinstance(doc.get("music"), list) and doc["music"]:
            node, key = doc["music"][0], draw(st.sampled_from(["id", "prompt", "start", "end", "bpm"]))
        else:
            continue
        if draw(st.booleans()) and key in node:
            del node[key]
        else:
            node[key] = draw(st.one_of(YAML_VALUES, SHOT_IDS))
    return _dump(doc)


FILM_YAML_TEXT = st.one_of(
    mutated_film(),
    YAML_VALUES.map(_dump),
    TEXT,
    st.sampled_from(["", "---\n", "~\n", "[]\n", "shots:\n", "title: x\nshots: []\n", "{\n", "a: [\n", "'\n",
                     "title: &a x\nlogline: *a\n", "title: *nope\n", "!!python/object:os.system x\n",
                     "%YAML 9.9\n---\n",
                     "title: x\ntitle: y\n", "\ufeff" + MINI_FILM, MINI_FILM.replace("  ", "\t"),
                     MINI_FILM + "\x07\n", "[" * 3000 + "]" * 3000, "a:\n" + "  " * 500 + "b: 1\n"]),
)
FILM_YAML = st.one_of(FILM_YAML_TEXT.map(lambda s: s.encode("utf-8", "surrogateescape")),
                      st.binary(max_size=200), st.just(b"\xff\xfe" + MINI_FILM.encode("utf-16-le")))
# JSON for FILM_HOME's state files, with no number or boolean anywhere: a pid of 1 or -1 signals init or everyone
SAFE_JSON = st.recursive(st.one_of(st.none(), TEXT, st.sampled_from(["1", "-1", "x", ""])), lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["pid", "port", "broker", "workers", "broker_pid",
                                                                  "access_key", "secret_key", "mini", "x"]) | TEXT,
                                                 inner, max_size=4)), max_leaves=8)
STATE_TEXT = st.one_of(SAFE_JSON.map(json.dumps), TEXT, st.sampled_from(["", "{", "null", "[]", "{}", '{"mini": "/"}']))


class Example:
    """One example's own folder: FILM_HOME, films, the working directory."""

    count = 0

    def __init__(self, root: Path, monkeypatch):
        Example.count += 1
        self.dir = root / f"ex{Example.count}"
        self.home = self.dir / "home"
        self.dir.mkdir()
        self.setenv = monkeypatch.setenv
        self.setenv("FILM_HOME", str(self.home))
        monkeypatch.chdir(self.dir)

    def film(self, name: str = "mini", text: bytes | str = MINI_FILM) -> Path:
        folder = self.dir / "films" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "film.yaml").write_bytes(text if isinstance(text, bytes) else text.encode())
        return folder


@st.composite
def film_dirs(draw, ex: Example) -> str:
    """A film_dir argument: a film, a broken one, or something that is no film at all."""
    kind = draw(st.sampled_from(["valid", "valid", "valid_yaml", "valid_dotdot", "valid_relative", "unicode_name",
                                 "garbage", "garbage", "missing", "file", "empty_dir", "yaml_is_dir", "yaml_loop",
                                 "yaml_dangling", "yml_file", "long_name", "long_path", "dev_null", "weird"]))
    if kind == "valid":
        return str(ex.film())
    if kind == "valid_yaml":
        return str(ex.film() / "film.yaml")
    if kind == "valid_dotdot":
        return str(ex.film()) + "/../mini/."
    if kind == "valid_relative":
        return os.path.relpath(ex.film(), ex.dir)
    if kind == "unicode_name":
        name = draw(st.one_of(
            st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00/"), min_size=1, max_size=60),
            st.binary(min_size=1, max_size=60).filter(lambda b: b"\x00" not in b and b"/" not in b).map(os.fsdecode),
        ).filter(lambda s: s not in (".", "..") and len(os.fsencode(s)) <= 255))
        return str(ex.film(name))
    if kind == "garbage":
        return str(ex.film("broken", draw(FILM_YAML)))
    if kind == "missing":
        return str(ex.dir / "no" / "such" / "film")
    if kind == "file":
        (ex.dir / "notes.txt").write_text("not a film")
        return str(ex.dir / "notes.txt")
    if kind == "empty_dir":
        (ex.dir / "empty").mkdir(exist_ok=True)
        return str(ex.dir / "empty")
    if kind == "yaml_is_dir":
        (ex.dir / "dirfilm" / "film.yaml").mkdir(parents=True, exist_ok=True)
        return str(ex.dir / "dirfilm")
    if kind in ("yaml_loop", "yaml_dangling"):
        folder = ex.dir / kind
        folder.mkdir(exist_ok=True)
        target = "film.yaml" if kind == "yaml_loop" else "gone.yaml"
        if not (folder / "film.yaml").is_symlink():
            (folder / "film.yaml").symlink_to(target)
        return str(folder)
    if kind == "yml_file":
        (ex.dir / "other.yml").write_bytes(draw(FILM_YAML))
        return str(ex.dir / "other.yml")
    if kind == "long_name":
        return str(ex.dir / ("x" * draw(st.integers(256, 400))))
    if kind == "long_path":
        return "a/" * draw(st.integers(2100, 2500))  # past PATH_MAX (4096)
    if kind == "dev_null":
        return "/dev/null"
    return draw(WEIRD)


def _value(draw, ex: Example, action, sane: bool) -> str:
    if action.dest == "film_dir":
        return str(ex.film()) if sane else draw(film_dirs(ex))
    if action.choices:
        choices = st.sampled_from(sorted(action.choices))
        return draw(choices if sane else st.one_of(choices, choices, WEIRD))
    if sane and action.dest in SANE and draw(st.integers(0, 2)):  # a sane command line with one wild value
        return draw(SANE[action.dest])
    return draw(VALUES.get(action.dest, WEIRD))


@st.composite
def command_line(draw, ex: Example, command: str) -> list[str]:
    """argv for `film COMMAND`: its positionals (or not) and some of its options, each with a value
    of the kind it takes (mostly) or any string; sometimes a stray token more. A third are `sane`:
    a valid film and values in range (each but one in three), to get past the checks to what follows."""
    parser = next(a for a in cli._parser()._actions if a.dest == "command").choices[command]
    sane = draw(st.integers(0, 2)) == 0
    argv = [command]
    for action in parser._actions:
        if action.option_strings or action.dest == "help":
            continue
        if action.nargs in (None, 1) or (action.nargs == "?" and draw(st.booleans())):
            if sane or draw(st.integers(0, 19)) or action.nargs == "?":  # a positional left out, 1 in 20
                argv.append(_value(draw, ex, action, sane))
    options = []
    for action in parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        if not (action.required and (sane or draw(st.integers(0, 19)))) and not draw(st.booleans()):
            continue
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            options.append([flag])
        elif sane or draw(st.integers(0, 9)):
            value = _value(draw, ex, action, sane)
            options.append([f"{flag}={value}"] if draw(st.integers(0, 4)) == 0 else [flag, value])
        else:
            options.append([flag])  # its value left out
        if isinstance(action, argparse._AppendAction) and len(options[-1]) == 2:  # `--force`: repeatable
            options.extend([flag, _value(draw, ex, action, sane)] for _ in range(draw(st.integers(0, 2))))
    for option in draw(st.permutations(options)) if options else []:
        at = draw(st.integers(1, len(argv))) if not sane and draw(st.integers(0, 3)) == 0 else len(argv)
        argv[at:at] = option
    if not sane and draw(st.integers(0, 9)) == 0:
        argv.insert(draw(st.integers(1, len(argv))), draw(WEIRD))
    return argv


# ---- running `film` and what it must answer ------------------------------------------------------

def run_film(argv: list[str], capfd) -> tuple[int, str, str, bool]:
    """`film ARGV` in-process: (exit code, stdout, stderr, whether argparse ended it)."""
    capfd.readouterr()
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace", write_through=True)
    parsed_by_argparse = False
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as stop:  # argparse: --help (0) or a usage error (2)
            parsed_by_argparse, code = True, stop.code
        finally:
            out.flush()
            err.flush()
    fd = capfd.readouterr()
    return code, out_bytes.getvalue().decode() + fd.out, err_bytes.getvalue().decode() + fd.err, parsed_by_argparse


PROGRESS = re.compile(r"^\S.*:\s+\d+%\|")  # a tqdm bar: `render mini:  25%|██▌  | 4/16 ...`


def check(argv: list[str], code, out: str, err: str, by_argparse: bool) -> None:
    said = f"film {argv!r}\nexit: {code!r}\nstdout: {out[-1500:]}\nstderr: {err[-3000:]}"
    assert TRACEBACK not in err and TRACEBACK not in out, said
    assert "failed unexpectedly" not in err, said  # cli._unexpected: the last resort, a bug wherever it shows
    assert code in EXIT_CODES, said
    if by_argparse:
        assert code in (0, 2), said
        if code == 2:
            assert err.startswith("usage: film") and ": error: " in err, said
        return
    if code != 0:
        # stderr says `film: <what is wrong>` (a status query may say "not running" on stdout instead), and no
        # line is an exception's repr (`KeyError: 'pid'`). Other lines are let be: Dagster's compute-log capture
        # runs `tail -F`, which warns on stderr when the machine is out of inotify instances.
        lines = [line for line in re.split(r"[\r\n]", err) if line.strip() and not PROGRESS.match(line)]
        assert any(line.startswith("film: ") and line[len("film: "):].strip() for line in lines) or (
            code == 1 and not lines and out.strip()), said
        assert not any(re.match(r"^[A-Za-z_.]*(Error|Exception)\b[^ ]*: ", line) for line in lines), said
    try:
        args = cli._parser().parse_args(argv)
    except SystemExit:  # pragma: no cover - it parsed once already
        return
    if code == 0 and getattr(args, "json", False):
        try:
            json.loads(out)
        except ValueError as error:
            raise AssertionError(f"--json printed no JSON document ({error})\n{said}") from None


def film(argv: list[str], capfd) -> None:
    check(argv, *run_film(argv, capfd))


@pytest.fixture
def fuzz(tmp_path, monkeypatch, capfd):
    """A clean environment (no FILM_* settings of the caller's), no steps executed, no servers, no signals."""
    from film_pipeline import local_workers, render, review, seaweed, ui
    from film_pipeline.home import dagster_home, film_home
    from film_pipeline.review.room import ReviewRoom

    for name in list(os.environ):
        if name.startswith("FILM_") and name != "FILM_MODEL_CACHE":
            monkeypatch.delenv(name)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # get_instance() sets it; restored after the test
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    monkeypatch.setattr(render, "_run", lambda session, request: render.RunOutcome())

    def serve(host="127.0.0.1", port=3000):
        dagster_home(), film_home()  # what the real one does before it starts `dagster dev`
        return 0

    def start(root, port=None, timeout=30.0):
        root.mkdir(parents=True, exist_ok=True)
        return seaweed.Server(root, port or 1, os.getpid(), "key", "secret")

    real_up = local_workers.up

    def up(count, port=None, timeout=180.0):
        if count < 1:
            return real_up(count, port, timeout)  # refused before anything starts
        local_workers.workers_dir().mkdir(parents=True, exist_ok=True)
        return local_workers.Workers("redis://127.0.0.1:1/0", {f"film-worker-{i}@host": os.getpid()
                                                               for i in range(1, min(count, 4) + 1)})

    def serve_review(film_dir, host="127.0.0.1", port=3300, dagster_url="http://127.0.0.1:3000"):
        ReviewRoom(film_dir, dagster_url)  # what the real one does before it listens: reads the film
        dagster_home(), film_home()
        return 0

    monkeypatch.setattr(ui, "serve", serve)
    monkeypatch.setattr(review, "serve", serve_review)
    monkeypatch.setattr(seaweed, "start", start)
    monkeypatch.setattr(local_workers, "up", up)

    real_kill, real_killpg = os.kill, os.killpg

    def ours(pid) -> bool:  # a child of this process (Dagster's `tail -F` of a compute log, say)
        try:
            return isinstance(pid, int) and pid > 0 and int(Path(f"/proc/{pid}/stat").read_text()
                                                            .rsplit(")", 1)[1].split()[1]) == os.getpid()
        except (OSError, IndexError, ValueError):
            return False

    def kill(pid, sig):
        assert sig == 0 or ours(pid), f"the command sent signal {sig} to pid {pid!r}, not a child of its own"
        return real_kill(pid, sig)

    def killpg(pid, sig):
        assert sig == 0 or ours(pid), f"the command sent signal {sig} to process group {pid!r}, not its child's"
        return real_killpg(pid, sig)

    monkeypatch.setattr(os, "kill", kill)
    monkeypatch.setattr(os, "killpg", killpg)
    return lambda: Example(tmp_path, monkeypatch)


# ---- the tests ------------------------------------------------------------------------

@settings(FUZZ, max_examples=150)
@given(argv=st.lists(st.one_of(st.sampled_from(SUBCOMMANDS), WEIRD, INTS), max_size=6))
def test_any_argv(fuzz, capfd, argv):
    """Tokens at random, subcommands among them: mostly usage errors, which argparse words."""
    fuzz()
    film(argv, capfd)


@pytest.mark.parametrize("command", SUBCOMMANDS)
@settings(FUZZ, max_examples=15)
@given(data=st.data())
def test_each_subcommand(fuzz, capfd, command, data):
    """Every subcommand with arguments of the right kind and of the wrong one: films valid and broken,
    no films at all, shot ids, takes, versions, profiles, ports and prices in range and out of it."""
    ex = fuzz()
    argv = data.draw(command_line(ex, command), label="argv")
    film(argv, capfd)


FILM_COMMANDS = ("plan", "status", "render", "verify", "cost", "history", "takes", "pick", "rollback")


@settings(FUZZ, max_examples=80)
@given(text=FILM_YAML, command=st.sampled_from([c for c in FILM_COMMANDS if c in SUBCOMMANDS]), as_json=st.booleans())
def test_broken_film_yaml(fuzz, capfd, text, command, as_json):
    """film.yaml as a writer might leave it: a valid film with a slip, any YAML, any bytes."""
    film(film_yaml_argv(fuzz(), text, command, as_json), capfd)


def film_yaml_argv(ex: Example, text: bytes, command: str, as_json: bool) -> list[str]:
    folder = str(ex.film("broken", text))
    argv = {"takes": [command, folder, "a"], "pick": [command, folder, "b", "2", "--no-progress"],
            "rollback": [command, folder, "a", "--to", "0" * 64, "--no-progress"],
            "render": [command, folder, "--no-progress"]}.get(command, [command, folder])
    return argv + (["--json"] if as_json else [])


STATE_FILES = ("films.json", "seaweedfs/server.json", "seaweedfs/keys.json", "workers/workers.json", "render.lock",
               "dagster/dagster.yaml")
STATE_DIRS = ("store", "dagster", "seaweedfs", "workers", "films.json", "render.lock", "cache")
HOME_COMMANDS = st.sampled_from([argv for argv in (
    ["store", "status"], ["store", "env"], ["store", "down"], ["workers", "status"], ["workers", "env"],
    ["workers", "down"], ["ui"], ["plan", "FILM"], ["status", "FILM"], ["render", "FILM", "--no-progress"],
    ["verify", "FILM"], ["cost", "FILM"], ["history", "FILM"], ["share", "FILM"], ["takes", "FILM", "a"])
    if argv[0] in SUBCOMMANDS])


@settings(FUZZ, max_examples=50)
@given(data=st.data(), command=HOME_COMMANDS)
def test_broken_film_home(fuzz, capfd, data, command):
    """FILM_HOME as a crash or a hand may leave it: state files with anything in them, a folder
    where a file belongs (or a file where a folder does), FILM_HOME itself a file or missing."""
    film(broken_home_argv(fuzz(), data, command), capfd)


def broken_home_argv(ex: Example, data, command: list[str]) -> list[str]:
    folder = ex.film()
    kind = data.draw(st.sampled_from(["files", "files", "dirs", "home_is_file", "home_under_file", "home_missing"]),
                     label="kind")
    if kind == "files":
        for name in data.draw(st.lists(st.sampled_from(STATE_FILES), min_size=1, max_size=3, unique=True),
                              label="files"):
            (ex.home / name).parent.mkdir(parents=True, exist_ok=True)
            (ex.home / name).write_text(data.draw(STATE_TEXT, label=name), errors="surrogateescape")
    elif kind == "dirs":
        for name in data.draw(st.lists(st.sampled_from(STATE_DIRS), min_size=1, max_size=2, unique=True),
                              label="dirs"):
            (ex.home / name).parent.mkdir(parents=True, exist_ok=True)
            if name in ("films.json", "render.lock"):
                (ex.home / name).mkdir()  # a folder where a file belongs
            else:
                (ex.home / name).write_text("a file where a folder belongs")
    elif kind == "home_is_file":
        ex.home.write_text("not a folder")
    elif kind == "home_under_file":
        ex.home.write_text("not a folder")
        ex.setenv("FILM_HOME", str(ex.home / "inner"))
    return [str(folder) if token == "FILM" else token for token in command]
