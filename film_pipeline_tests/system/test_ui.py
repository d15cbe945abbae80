"""`film ui` for real: the webserver and daemon on 127.0.0.1, GraphQL, the sensor through the
daemon, a headless Chromium on the asset graph, a clean stop with no process left behind, and
nothing left behind either when `film ui` is killed outright.

The tests share one server and run in file order on one xdist worker (`--dist loadgroup`); the
one that stops it comes after the others that use it. The last test starts a server of its own.
"""

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from film_pipeline_tests.conftest import edit_film, launch_ui, shot

pytestmark = pytest.mark.xdist_group("film-ui")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class UI:
    home: Path
    url: str
    process: subprocess.Popen
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def graphql(self, query: str) -> dict:
        request = urllib.request.Request(f"{self.url}/graphql", data=json.dumps({"query": query}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer
        return answer["data"]

    def runs(self) -> list[dict]:
        data = self.graphql('{ runsOrError(filter: {tags: [{key: "film", value: "mini"}]}) { ... on Runs { results {'
                            ' runId jobName status tags { key value } } } } }')
        return [{"job": r["jobName"], "status": r["status"], "run_id": r["runId"], **{t["key"]: t["value"] for t in r["tags"]}}
                for r in data["runsOrError"]["results"]]

    def made_by(self, asset: str, partition: str | None = None) -> str:
        """The run of the asset's (partition's) latest materialization."""
        which = f'partitions: ["{partition}"], ' if partition else ""
        data = self.graphql(f'{{ assetOrError(assetKey: {{path: ["mini", "{asset}"]}}) {{ ... on Asset {{'
                            f' assetMaterializations({which}limit: 1) {{ runId }} }} }} }}')
        return data["assetOrError"]["assetMaterializations"][0]["runId"]


def processes_with(marker: str) -> list[str]:
    """Command lines of live processes whose environment holds `marker` (the server's children too)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def ui(baseline, tmp_path_factory):
    home = tmp_path_factory.mktemp("ui") / "home"
    shutil.copytree(baseline, home)
    log = home / "ui.log"
    process, url = launch_ui({**os.environ, "FILM_HOME": str(home), "FILM_SENSOR_INTERVAL": "2"}, log)
    server = UI(home, url, process, log)
    server.graphql("mutation { setNuxSeen }")  # the one-time newsletter dialog would cover the screenshot
    yield server
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)


def test_the_ui_listens_on_loopback_only(ui):
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{ui.port}"], capture_output=True, text=True).stdout
    if not listening.strip():
        pytest.skip("ss is not installed")  # the graphql tests below still prove the server answers
    local_addresses = [line.split()[3] for line in listening.splitlines()]
    assert local_addresses and all(a.startswith("127.0.0.1:") for a in local_addresses), listening


def test_graphql_lists_the_films_assets_partitions_sensor_and_schedule(ui):
    nodes = ui.graphql("{ assetNodes { assetKey { path } partitionKeys groupName } }")["assetNodes"]
    assets = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    for name in ("script", "characters", "storyboard", "clip", "upscaled_clip", "voiceover", "soundtrack", "final_cut"):
        assert f"mini/{name}" in assets
    assert assets["mini/clip"]["partitionKeys"] == ["a", "b", "c"]
    assert assets["mini/final_cut"]["groupName"] == "edit"
    workspace = ui.graphql("{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {"
                           " ... on RepositoryLocation { repositories { sensors { name sensorState { status } }"
                           " schedules { name cronSchedule scheduleState { status } } } } } } } } }")
    (repository,) = workspace["workspaceOrError"]["locationEntries"][0]["locationOrLoadError"]["repositories"]
    sensors = {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]}
    assert sensors == {"mini__on_edit": "RUNNING", "mini__automation": "STOPPED"}
    assert [(s["name"], s["cronSchedule"]) for s in repository["schedules"]] == [("mini__nightly", "0 2 * * *")]


def test_saving_an_edit_reruns_exactly_that_shot_then_the_cut_in_one_run(ui):
    film_dir = ui.home / "films" / "mini"
    saved = time.monotonic()
    edit_film(film_dir, lambda doc: shot(doc, "b").__setitem__("prompt", "a city street in the rain"))
    deadline = saved + 240
    while True:
        launched = [r for r in ui.runs() if r.get("launched_by") == "sensor" and r["job"] != "mini__observe_specs"]
        if any(r["job"] == "mini__render_shot_and_cut" and r["status"] == "SUCCESS" for r in launched):
            break
        assert not any(r["status"] == "FAILURE" for r in launched), launched
        assert time.monotonic() < deadline, f"no finished rerun after 240 s: {launched}\n{ui.log.read_text()[-3000:]}"
        time.sleep(1)
    print(f"\nedit saved -> the shot and the cut re-rendered, seen over GraphQL: {time.monotonic() - saved:.1f} s")
    # one shot changed: one run renders it and then the cut (no second launch, no tick between)
    assert [(r["job"], r.get("dagster/partition"), r["status"]) for r in launched] == \
        [("mini__render_shot_and_cut", "b", "SUCCESS")], [(r.get("dagster/run_key"), r["job"]) for r in launched]
    assert ui.made_by("upscaled_clip", "b") == ui.made_by("final_cut") == launched[0]["run_id"]


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed (.ci/run installs it)")
def test_headless_chromium_shows_the_films_asset_graph(ui, tmp_path):
    assert CHROMIUM, "chromium must be installed in CI (.ci/run installs Debian's chromium)"
    page = f"{ui.url}/assets/mini/final_cut?view=lineage&lineageScope=upstream&lineageDepth=6"
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
             "--window-size=1800,1000", "--virtual-time-budget=20000"]
    screenshot = tmp_path / "asset-graph.png"
    subprocess.run(flags + [f"--user-data-dir={tmp_path / 'shot'}", f"--screenshot={screenshot}", page],
                   capture_output=True, timeout=120, check=True)
    dom = subprocess.run(flags + [f"--user-data-dir={tmp_path / 'dom'}", "--dump-dom", page],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    for name in ("storyboard", "clip", "upscaled_clip", "voiceover", "soundtrack", "script", "final_cut"):
        assert f">{name}<" in dom, f"the asset graph does not show {name}"
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
    print(f"\nscreenshot: {screenshot}")


def test_sigterm_stops_the_ui_and_every_child(ui):
    marker = f"FILM_HOME={ui.home}"
    assert len(processes_with(marker)) >= 3  # film ui, dagster dev, the webserver, the daemon, code servers
    ui.process.send_signal(signal.SIGTERM)
    assert ui.process.wait(timeout=60) == 0
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_with(marker) == []
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{ui.url}/server_info", timeout=5)


def session_of(pid: int) -> list[int]:
    """The live processes (zombies left out) of the session `pid` leads."""
    members = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit():
                state, _ppid, _group, session = (proc / "stat").read_text().rsplit(")", 1)[1].split()[:4]
                if state != "Z" and int(session) == pid:
                    members.append(int(proc.name))
        except OSError:
            continue
    return members


def children_of(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def test_nothing_outlives_a_ui_killed_outright(baseline, tmp_path):
    """`kill -9` of `film ui` alone (no clean-up of its own can run): dagster dev, its webserver,
    daemon, code servers and run workers, all in a session of their own, go too."""
    home = tmp_path / "home"
    shutil.copytree(baseline, home)
    marker = f"FILM_HOME={home}"
    process, url = launch_ui({**os.environ, "FILM_HOME": str(home)}, home / "ui.log")
    dagster_dev = None
    try:
        (dagster_dev,) = children_of(process.pid)
        members = session_of(dagster_dev)
        assert len(members) >= 4, members  # dagster dev, its watchdog, the webserver, the daemon (and code servers)
        process.kill()  # SIGKILL, to film ui's pid alone
        assert process.wait(timeout=10) == -signal.SIGKILL
        deadline = time.monotonic() + 60
        while (session_of(dagster_dev) or processes_with(marker)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert session_of(dagster_dev) == [] and processes_with(marker) == [], (processes_with(marker),
                                                                                 (home / "ui.log").read_text()[-3000:])
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{url}/server_info", timeout=5)
    finally:  # a failed check leaves nothing behind either
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in session_of(dagster_dev) if dagster_dev else []:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
