"""The measurements of issue 17's goals that bench/results.py does not take itself: the import
floor, the demo film from the command line and through the UI, the runs `plan` and `status` add
to the UI's run list, and the time Dagster's UI takes to show a long film's partitions.

Each is a function bench/results.py calls; `python bench/goals.py demo` (or `floor`) runs one alone.
"""

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FILM = [sys.executable, "-m", "film_pipeline.cli"]


def import_floor(runs: int) -> float:
    """`python -c "import dagster"`: what any command that reads Dagster's records pays first."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import dagster"], check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def runs_in_the_ui(home: Path) -> int:
    """How many runs the instance under `home` holds (the UI's run list)."""
    code = "from film_pipeline.home import get_instance; print(len(get_instance().get_run_records()))"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "FILM_HOME": str(home)}, cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip().splitlines()[-1])


def runs_added_by_queries(home: Path, film_dir: Path) -> int:
    """Runs `film plan` and `film status` add (the goal: none)."""
    env = {**os.environ, "FILM_HOME": str(home)}
    before = runs_in_the_ui(home)
    for command in ("plan", "status"):
        subprocess.run(FILM + [command, str(film_dir)], env=env, cwd=REPO, stdout=subprocess.DEVNULL, check=True)
    return runs_in_the_ui(home) - before


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_ui(home: Path, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(FILM + ["ui", "--port", str(port)], env={**os.environ, "FILM_HOME": str(home), **(env or {})},
                              cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/server_info", timeout=5)
            return server, url
        except OSError:
            time.sleep(0.5)
    stop_ui(server)
    raise RuntimeError("film ui did not answer within 300 s")


def stop_ui(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def partitions_page_seconds(home: Path, film: str, asset: str, shown_shot: str) -> float | None:
    """Seconds from opening an asset's partitions page in headless Chromium (Playwright, Debian's
    browser) to the first shot's partition showing (the list is virtual: rows off screen do not exist); None without Playwright or Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not shutil.which("chromium"):
        return None
    server, url = start_ui(home)
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=shutil.which("chromium"), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"])
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{url}/assets/{film}/{asset}", wait_until="domcontentloaded")  # warm the server up
            page.wait_for_timeout(2000)
            started = time.perf_counter()
            page.goto(f"{url}/assets/{film}/{asset}?view=partitions", wait_until="domcontentloaded")
            # the page lists partitions in a virtual list: only the rows on screen exist, so wait for the first
            page.get_by_text(shown_shot, exact=True).first.wait_for(timeout=300_000)
            seconds = time.perf_counter() - started
            browser.close()
        return seconds
    finally:
        stop_ui(server)


# the preview profile's language model, made once per model cache (FILM_HOME/models): its GGUF
# converted (backends/text.py) and loaded
PREPARE_TEXT_MODEL = "from film_pipeline.backends import get_backend; get_backend('text', 'preview')"


def demo(runs: int, ui_runs: int, root: Path, sensor_interval: int = 3) -> dict:
    """The demo film: first render and one prompt edit from the command line (each a process, as a
    user runs it), then the same edit saved while `film ui` runs (sensor every `sensor_interval` s).
    The language model's one-time conversion is timed apart, before the first render."""
    from bench.operations import SHOT_EDITED, edit_prompt, ui_edit_timings

    home = root / "demo"
    film_dir = home / "films" / "demo"
    shutil.copytree(REPO / "data" / "films" / "demo", film_dir)
    env = {**os.environ, "FILM_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    # once per machine, before any render: the language model's GGUF converted into the model cache
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", PREPARE_TEXT_MODEL], env=env, cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prepare = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(FILM + ["render", str(film_dir), "--no-progress"], env=env, cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = time.perf_counter() - started
    edits = []
    for run in range(runs):
        edit_prompt(film_dir, f"seen again, take {run}")
        started = time.perf_counter()
        subprocess.run(FILM + ["render", str(film_dir), "--no-progress"], env=env, cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        edits.append(time.perf_counter() - started)
    os.environ["FILM_HOME"] = str(home)
    boot, ui_shot, ui_cut = ui_edit_timings(film_dir, ui_runs, sensor_interval)
    return {"prepare": prepare, "first": first, "edit": statistics.median(edits), "ui_boot": boot, "ui_shot": ui_shot, "ui_cut": ui_cut,
            "shot": SHOT_EDITED, "sensor_interval": sensor_interval}


if __name__ == "__main__":
    import tempfile

    what = sys.argv[1] if len(sys.argv) > 1 else "floor"
    if what == "floor":
        print(f"import dagster: {import_floor(5):.2f} s")
    else:
        with tempfile.TemporaryDirectory(prefix="film-bench-demo-") as root:
            print(demo(1, 1, Path(root)))
