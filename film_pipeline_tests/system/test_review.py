"""`film review`, the review room, in a real headless Chromium driven by Playwright: the cut plays,
a take is picked with the keyboard and only that shot's downstream re-renders (its runs linked to
Dagster's UI), versions are compared and rolled back, an invalid edit is refused at its line with
film.yaml untouched, "More takes" paints only the new takes, concurrent edits never corrupt
film.yaml, cross-site writes and path traversal are refused.

The server runs in this process, on a thread (uvicorn), over a private copy of the rendered mini
film; its render thread is waited for before the copy goes. Chromium is Debian's
(/usr/bin/chromium, which .ci/run installs): nothing downloads a browser.
"""

import hashlib
import http.client
import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from film_pipeline import materialize
from film_pipeline.backends.keyframe import ProceduralKeyframe
from film_pipeline.film import load_film
from film_pipeline.graph import FILM_ASSETS, PARENTS
from film_pipeline.review import listen
from film_pipeline.review.app import create_app
from film_pipeline.review.room import ReviewRoom
from film_pipeline.store import open_store
from film_pipeline_tests.conftest import MINI_FILM

pytestmark = pytest.mark.xdist_group("film-review")  # one browser for the file's tests
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required"]
TOKEN = "test-token"
RENDER_TIMEOUT = 240  # seconds: a shot's clip, upscale and the cut, on a loaded machine
SCREENSHOT = Path("/tmp/review-room.png")


def ancestors(name: str) -> set[str]:
    return {grand for parent in PARENTS.get(name, ()) for grand in {parent} | ancestors(parent)}


# a new pick of shot b: its clip and upscaled clip, and the film-level assets made from them (the cut,
# and whatever else reads the upscaled clips: an export of the timeline, say)
SHOT_B_DOWNSTREAM = {("clip", "b"), ("upscaled_clip", "b"),
                     *((name, None) for name in FILM_ASSETS if "upscaled_clip" in ancestors(name))}
assert ("final_cut", None) in SHOT_B_DOWNSTREAM and ("script", None) not in SHOT_B_DOWNSTREAM


@dataclass
class Review:
    url: str
    room: ReviewRoom
    film_dir: Path
    port: int

    @property
    def film_yaml(self) -> Path:
        return self.film_dir / "film.yaml"

    def post(self, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(f"{self.url}{path}", data=json.dumps(body).encode(), method="POST", headers={
            "Content-Type": "application/json", "X-Review-Token": TOKEN, "Origin": self.url, **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def raw(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None) -> int:
        """A request exactly as written (no client normalises the path): its status."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            length = {"Content-Length": str(len(body))} if body is not None else {}
            for name, value in {"Host": f"127.0.0.1:{self.port}", **length, **(headers or {})}.items():
                connection.putheader(name, value)
            connection.endheaders(body)
            return connection.getresponse().status
        finally:
            connection.close()

    def wait_for_job(self, job_id: int, timeout: float = RENDER_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = next((j for j in self.room.status()["jobs"] if j["id"] == job_id), None)
            if job and job["state"] in ("done", "failed"):
                return job
            assert time.monotonic() < deadline, f"job {job_id} did not finish in {timeout:.0f} s: {job}"
            time.sleep(0.3)

    def wait_idle(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not (self.room.idle() and self.room.statuses):
            assert time.monotonic() < deadline, "the review room did not settle"
            time.sleep(0.2)

    def settled(self, page) -> None:
        """Once the server is idle, the page shows what it has (it redraws when its generation moves)."""
        self.wait_idle()
        page.wait_for_function("g => Number(document.body.dataset.generation) >= g",
                               arg=self.room.status()["generation"], timeout=30_000)


def serve(film_dir: Path, render=None) -> tuple[Review, callable]:
    room = ReviewRoom(film_dir, dagster_url="http://127.0.0.1:3000", **({"render": render} if render else {}))
    room.start()
    import uvicorn

    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(room, token=TOKEN), log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="review-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the review server did not start"
        time.sleep(0.05)
    review = Review(f"http://127.0.0.1:{port}", room, film_dir, port)
    review.wait_idle()

    def stop() -> None:
        server.should_exit = True
        thread.join(30)
        sock.close()
        # a render in flight must end before its FILM_HOME (a test's tmp_path) goes
        assert room.stop(timeout=RENDER_TIMEOUT), "the review room's render thread did not stop"

    return review, stop


@pytest.fixture
def review(rendered):
    started, stop = serve(rendered)
    yield started
    stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium must be installed in CI (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def shot_spec(film_yaml: Path, shot_id: str) -> dict:
    doc = YAML().load(film_yaml.read_text())
    return dict(next(s for s in doc["shots"] if s["id"] == shot_id))


# ---- the tests -------------------------------------------------------------------------------

def test_the_cut_plays_for_its_own_length(review, page):
    cut = review.room.overview()["cut"]
    page.goto(review.url)
    video = page.locator("video#cut")
    page.wait_for_function("() => document.querySelector('video#cut').readyState >= 1")
    duration = video.evaluate("v => v.duration")
    assert abs(duration - cut["duration"]) < 0.15, (duration, cut["duration"])
    assert cut["duration"] == pytest.approx(3.0)  # the mini film: 1 + 1.5 + 1 s less a 0.5 s crossfade
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('video#cut').currentTime > 0.5", timeout=30_000)
    assert video.evaluate("v => v.error") is None
    if cut["subtitles"]:  # the cut's manifest lists WebVTT subtitles: a track the player loads
        assert page.locator("video#cut track").get_attribute("src") == cut["subtitles"]
        page.wait_for_function("() => document.querySelector('video#cut track').readyState === 2", timeout=30_000)
    else:
        assert page.locator("video#cut track").count() == 0
    strip = page.locator("#strip .shot")
    assert strip.count() == 3
    assert [strip.nth(i).get_attribute("data-shot") for i in range(3)] == ["a", "b", "c"]
    assert page.locator("#strip [data-shot-status='b']").inner_text() == "fresh"
    assert page.locator("#strip .shot img").count() == 3
    assert all(page.locator("#strip .shot img").nth(i).evaluate("img => img.naturalWidth > 0") for i in range(3))


def test_use_take_2_rerenders_only_that_shots_clip_upscale_and_the_cut(review, page, tmp_path):
    before = shot_spec(review.film_yaml, "b")
    assert "pick" not in before and before["takes"] == 2
    page.goto(f"{review.url}/?shot=b")
    first = page.get_by_role("button", name="Use take 1 of b", exact=True)
    second = page.get_by_role("button", name="Use take 2 of b", exact=True)
    assert page.get_by_role("button", name="Use take 3 of b", exact=True).count() == 0
    assert page.locator(".takes[data-group=keyframes] img").evaluate_all(
        "images => images.every(img => img.complete && img.naturalWidth > 0)")
    assert page.locator(".takes[data-group=keyframes] .take.best .star").count() == 1
    assert page.locator(".takes[data-group=clips] video").count() == 1
    first.focus()
    page.keyboard.press("ArrowRight")  # arrows move between takes
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Use take 2 of b"
    started = time.monotonic()
    page.keyboard.press("Enter")  # Enter uses the take
    page.wait_for_selector("#jobs .job")
    job_id = int(page.locator("#jobs .job").first.get_attribute("data-job"))
    job = review.wait_for_job(job_id)
    print(f"\n'Use take 2 of b' -> rendered in {time.monotonic() - started:.1f} s")
    assert job["state"] == "done", job
    assert shot_spec(review.film_yaml, "b")["pick"] == 2
    assert "# A small film that exercises every stage quickly." in review.film_yaml.read_text()  # comments kept
    assert {tuple(m) for m in job["materialized"]} == SHOT_B_DOWNSTREAM
    # its runs are Dagster runs of this film, linked from the page
    session = review.room.session()
    assert job["runs"] and all(session.instance.get_run_by_id(r["id"]).tags["film"] == "mini" for r in job["runs"])
    page.wait_for_selector(f"#jobs .job[data-job='{job_id}'].done a[href='{job['runs'][0]['url']}']")
    # the page shows take 2 in use once the render is done
    review.settled(page)
    assert page.get_by_role("button", name="Use take 2 of b", exact=True).get_attribute("aria-pressed") == "true"
    assert page.get_by_role("button", name="Use take 1 of b", exact=True).get_attribute("aria-pressed") == "false"
    # and so does Dagster: the clip's materialization shows the keyframe it uses; the storyboard every take
    clip = session.instance.get_latest_materialization_event(session.graph.key("clip")).asset_materialization
    assert clip.metadata["keyframe_in_use"].value == "take 2"
    assert clip.metadata["preview_keyframe"].value.startswith("![keyframe in use](data:image/jpeg;base64,")
    board = next(r.asset_materialization for r in reversed(list(materialize_records(session, "storyboard")))
                 if r.asset_materialization.partition == "b")
    notes = [board.metadata[f"preview_take{t}"].value.split("\n\n", 1)[1] for t in (1, 2)]
    assert sum("★ best" in note for note in notes) == 1 and notes[0].startswith("**take 1** · ")

    shot = tmp_path / "review-room.png"
    page.evaluate("""() => Promise.all([...document.querySelectorAll('video')].map(v => v.readyState >= 2 ? null :
        new Promise(done => { v.addEventListener('loadeddata', done, {once: true}); v.load(); })))""")
    page.evaluate("""() => new Promise(done => { const cut = document.querySelector('#cut');
        cut.addEventListener('seeked', done, {once: true}); cut.currentTime = 0.7; })""")
    page.screenshot(path=str(shot), full_page=True)
    shutil.copyfile(shot, SCREENSHOT)
    print(f"screenshot: {shot} (and {SCREENSHOT})")

    # Compare the clip as it was with the clip as it is, and roll back to the first: from the store
    rows = review.room.history("b")
    clips = [row for row in rows if row["asset"] == "clip"]
    assert len(clips) == 2
    page.locator(f".pick-version[value='clip:{clips[0]['version']}']").check()
    page.locator(f".pick-version[value='clip:{clips[1]['version']}']").check()
    page.get_by_role("button", name="Compare", exact=True).click()
    sides = page.locator(".compare .side")
    sides.first.wait_for()
    assert sides.count() == 2
    assert [sides.nth(i).locator("tr.differs th").all_inner_texts() for i in (0, 1)] == [["pick"], ["pick"]]
    generated = sum(materialize.GENERATIONS.values())
    page.get_by_role("button", name=f"Roll b back to {clips[1]['version']}", exact=True).click()
    page.wait_for_function(f"() => [...document.querySelectorAll('#jobs .job')].length >= 2")
    rolled = review.wait_for_job(max(j["id"] for j in review.room.status()["jobs"]))
    assert rolled["state"] == "done", rolled
    assert {tuple(m) for m in rolled["materialized"]} == SHOT_B_DOWNSTREAM
    assert "pick" not in shot_spec(review.film_yaml, "b")  # as it was: the best-scoring take
    assert sum(materialize.GENERATIONS.values()) == generated, "a rollback comes from the store"


def materialize_records(session, name):
    from film_pipeline.records import materializations

    return materializations(session.instance, session.graph.key(name))


def test_an_invalid_edit_shows_its_file_and_line_and_writes_nothing(review, page):
    before = review.film_yaml.read_bytes()
    page.goto(f"{review.url}/?shot=b")
    form = page.locator("form.edit")
    form.locator("textarea[name=prompt]").fill("   ")  # a shot without a prompt
    form.get_by_role("button", name="Save and render").click()
    error = form.locator(".edit-error")
    error.wait_for(state="visible")
    line = MINI_FILM.splitlines().index("  - id: b") + 1
    assert f"film.yaml:{line}: shot `b` is missing `prompt`" in error.inner_text()
    assert review.film_yaml.read_bytes() == before
    assert sorted(p.name for p in review.film_dir.iterdir()) == ["film.yaml"]  # no temporary file left
    assert review.room.status()["jobs"] == []
    status, answer = review.post("/api/edit", {"shot": "b", "camera": "zoom"})
    assert status == 400 and "film.yaml:" in answer["error"] and "camera" in answer["error"]
    assert review.film_yaml.read_bytes() == before


def test_more_takes_paints_only_the_new_ones(review, monkeypatch):
    store = open_store()
    old = review.room.shot("b")
    old_takes = {t["take"]: sha256(review.room.media("storyboard", "b", old["board_version"], f"take{t['take']}")[0])
                 for t in old["keyframes"]}
    painted = []
    real_paint = ProceduralKeyframe.paint

    def paint(self, request):
        painted.append(request.seed)
        return real_paint(self, request)

    monkeypatch.setattr(ProceduralKeyframe, "paint", paint)
    status, job = review.post("/api/more-takes", {"shot": "b", "more": 2})
    assert status == 202, job
    job = review.wait_for_job(job["id"])
    assert job["state"] == "done", job
    assert shot_spec(review.film_yaml, "b")["takes"] == 4
    seed = load_film(review.film_dir).shot("b").seed
    assert painted == [seed + 2, seed + 3], "only takes 3 and 4 are painted"
    new = review.room.shot("b")
    assert [t["take"] for t in new["keyframes"]] == [1, 2, 3, 4]
    for take, digest in old_takes.items():
        assert sha256(review.room.media("storyboard", "b", new["board_version"], f"take{take}")[0]) == digest
    manifest = store.read_json(f"mini/storyboard/b/{new['board_version']}.json")
    assert manifest["info"]["takes_reused"] == 2 and len(manifest["info"]["scores"]) == 4


class NoRender:
    """A render that renders nothing, as if it rendered shot a and the cut (what the page shows while
    it runs, and concurrent edits, are film.yaml's and the page's business, not the render's); with
    a `gate`, it waits for it in the middle."""

    def __init__(self, gate: threading.Event | None = None):
        self.calls, self.gate = 0, gate

    def __call__(self, film_dir, on_run=None, on_plan=None):
        from types import SimpleNamespace

        from film_pipeline.render import RenderResult

        self.calls += 1
        on_plan(SimpleNamespace(shot_runs={"a": ["clip"]}, film_assets=["final_cut"], planned=[]))
        if self.gate is not None:
            assert self.gate.wait(120), "the test never opened the gate"
        on_run("shot a", 1)
        on_run("film", 1)
        return RenderResult("mini", plan=None)


def test_the_page_shows_live_what_renders_now(rendered, page):
    gate = threading.Event()
    review, stop = serve(rendered, render=NoRender(gate))
    try:
        page.goto(f"{review.url}/?shot=a")
        status, job = review.post("/api/render", {})
        assert status == 202, job
        page.wait_for_selector("#strip [data-shot-status='a'][data-status='rendering']")
        page.wait_for_selector("#cut-status[data-status='rendering']")
        assert page.locator("#strip [data-shot-status='b']").get_attribute("data-status") == "fresh"
        page.wait_for_selector(f"#jobs .job.running[data-job='{job['id']}']")
        gate.set()
        assert review.wait_for_job(job["id"])["state"] == "done"
        page.wait_for_selector("#strip [data-shot-status='a'][data-status='fresh']")
        page.wait_for_selector(f"#jobs .job.done[data-job='{job['id']}']")
    finally:
        gate.set()
        stop()


def test_concurrent_edits_from_two_tabs_leave_a_valid_film_with_both(rendered):
    review, stop = serve(rendered, render=NoRender())
    try:
        text = review.film_yaml.read_text()
        barrier = threading.Barrier(2)
        answers = {}

        def tab(name: str, edits: list[dict]) -> None:
            barrier.wait()
            answers[name] = [review.post("/api/edit", edit) for edit in edits]

        tabs = [threading.Thread(target=tab, args=("one", [{"shot": "a", "prompt": f"a lighthouse, take {i}"}
                                                           for i in range(6)])),
                threading.Thread(target=tab, args=("two", [{"shot": "a", "narration": f"Hello, line {i}."}
                                                           for i in range(6)]))]
        for thread in tabs:
            thread.start()
        for thread in tabs:
            thread.join(120)
        statuses = [status for name in ("one", "two") for status, _ in answers[name]]
        assert set(statuses) <= {202, 409}, answers  # queued, or refused cleanly
        for _, job in [a for name in ("one", "two") for a in answers[name] if a[0] == 202]:
            assert review.wait_for_job(job["id"], timeout=120)["state"] == "done"
        film = load_film(review.film_dir)  # valid
        shot = film.shot("a")
        assert shot.prompt == "a lighthouse, take 5" and shot.narration == "Hello, line 5."  # both, the last of each
        after = review.film_yaml.read_text()
        assert after.count("\n") == text.count("\n") and "# A small film" in after
        assert sorted(p.name for p in review.film_dir.iterdir()) == ["film.yaml"]
    finally:
        stop()


def test_cross_site_writes_and_path_traversal_are_refused(review, page):
    before = review.film_yaml.read_bytes()
    pick = {"shot": "b", "take": 1}
    assert review.post("/api/pick", pick, {"Origin": "http://evil.example"})[0] == 403
    assert review.post("/api/pick", pick, {"X-Review-Token": "guessed"})[0] == 403
    assert review.post("/api/pick", pick, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert review.raw("POST", "/api/pick", {"Content-Type": "text/plain", "X-Review-Token": TOKEN},
                      json.dumps(pick).encode()) == 415
    assert review.raw("GET", "/", {"Host": f"rebound.example:{review.port}"}) == 400  # DNS rebinding
    # a page of another site posts a form at the review room
    page.goto("about:blank")
    page.set_content(f"""<form method="post" action="{review.url}/api/pick" enctype="text/plain">
        <input name='{{"shot": "b", "take": 1, "x": "' value='"}}'></form>""")
    with page.expect_navigation():
        page.evaluate("() => document.forms[0].submit()")
    assert "cross-site" in page.content() or "token" in page.content()
    assert review.film_yaml.read_bytes() == before and review.room.status()["jobs"] == []

    board = review.room.shot("b")["board_version"]
    for path in ("/media/../../../../etc/passwd", "/media/storyboard/b/..%2F..%2F..%2F..%2Fetc%2Fpasswd/take1",
                 f"/media/storyboard/b/{board}/..%2F..%2F..%2Ffilms%2Fmini%2Ffilm.yaml",
                 f"/media/storyboard/b/{board}/../../../../films/mini/film.yaml",
                 "/media/storyboard/..%2F..%2Fdagster/x/take1", f"/media/storyboard/a/{board}/take1",
                 f"/media/storyboard/b/{board}/specs", f"/media/visual_spec/b/{board}/take1",
                 "/static/..%2F..%2Fcuration.py", "/static/../app.py", "/static/%2e%2e/room.py",
                 "/fragments/shot/..%2F..%2Fetc%2Fpasswd", "/api/shots/nope"):
        assert review.raw("GET", path) == 404, path
    assert review.raw("GET", f"/media/storyboard/b/{board}/take1") == 200
    assert review.raw("GET", "/static/review.js") == 200
