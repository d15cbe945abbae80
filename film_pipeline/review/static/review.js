// The review room's page: actions as JSON POSTs (with the page's token), fragments fetched from
// the server, live status by polling /api/status. No build step, no dependencies.
"use strict";

const token = document.querySelector('meta[name="review-token"]').content;
const panel = document.getElementById("shot-panel");
let selected = document.body.dataset.shot || null;
let shown = Number(document.body.dataset.generation);  // the generation the fragments show
let busy = false;

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-Review-Token": token},
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({error: response.statusText}));
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

async function fragment(url) {
  const response = await fetch(url, {credentials: "same-origin"});
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.text();
}

function notice(text, isError = false) {
  const line = document.getElementById("notice");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

// ---- the shot strip and the selected shot ----------------------------------------------------

function markSelected() {
  document.querySelectorAll("#strip .shot").forEach((button) => {
    button.setAttribute("aria-current", button.dataset.shot === selected ? "true" : "false");
  });
}

function editing() {
  const form = panel.querySelector("form.edit");
  return form && (form.dataset.dirty === "1" || form.contains(document.activeElement));
}

async function loadShot(shot, {force = false} = {}) {
  if (!shot || (!force && editing())) return;
  const focused = document.activeElement && document.activeElement.getAttribute("aria-label");
  panel.innerHTML = await fragment(`/fragments/shot/${encodeURIComponent(shot)}`);
  selected = shot;
  document.body.dataset.shot = shot;
  history.replaceState(null, "", `?shot=${encodeURIComponent(shot)}`);
  markSelected();
  if (focused) {  // keep the keyboard where it was (a take button is re-drawn with the same name)
    const again = [...panel.querySelectorAll("[aria-label]")].find((el) => el.getAttribute("aria-label") === focused);
    if (again) again.focus();
  }
}

async function reloadAll() {
  const cut = document.getElementById("cut");
  const version = cut && cut.dataset.version;
  document.getElementById("strip").innerHTML = await fragment("/fragments/strip");
  markSelected();
  const section = document.getElementById("cut-section");
  const fresh = document.createElement("div");
  fresh.innerHTML = await fragment("/fragments/cut");
  const next = fresh.querySelector("#cut");
  if (!cut || !next || next.dataset.version !== version) section.innerHTML = fresh.innerHTML;  // a new cut
  if (selected) await loadShot(selected);
}

// ---- live status -------------------------------------------------------------------------

function showJobs(jobs) {
  const list = document.getElementById("jobs");
  list.replaceChildren(...jobs.slice(0, 12).map((job) => {
    const item = document.createElement("li");
    item.className = `job ${job.state}`;
    item.dataset.job = job.id;
    const head = document.createElement("div");
    head.innerHTML = "<strong></strong> <span class=\"state\"></span>";
    head.querySelector("strong").textContent = job.label;
    head.querySelector(".state").textContent = job.state;
    item.append(head);
    if (job.plan.length) {
      const plan = document.createElement("div");
      plan.className = "meta";
      plan.textContent = `renders ${job.plan.join(", ")}`;
      item.append(plan);
    } else if (job.state === "done" && !job.materialized.length) {
      const plan = document.createElement("div");
      plan.className = "meta";
      plan.textContent = "nothing to render: up to date";
      item.append(plan);
    }
    if (job.runs.length) {
      const runs = document.createElement("div");
      runs.className = "runs";
      runs.append("runs: ");
      job.runs.forEach((run, index) => {
        const link = document.createElement("a");
        link.href = run.url;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = run.id.slice(0, 8);
        if (index) runs.append(" ");
        runs.append(link);
      });
      item.append(runs);
    }
    const problems = [job.error, ...job.failures.map((f) => `${f.step}: ${f.error}`),
                      ...job.skipped.map((s) => `skipped ${s.what}: ${s.why}`)].filter(Boolean);
    if (problems.length) {
      const error = document.createElement("pre");
      error.className = "error";
      error.textContent = problems.join("\n");
      item.append(error);
    }
    return item;
  }));
}

function showStatuses(statuses) {
  document.querySelectorAll("[data-shot-status]").forEach((badge) => {
    const status = statuses[badge.dataset.shotStatus] || "unknown";
    badge.dataset.status = status;
    badge.textContent = status === "unknown" ? "…" : status;
  });
  const cut = document.getElementById("cut-status");
  if (cut) {
    cut.dataset.status = statuses.cut || "unknown";
    cut.textContent = statuses.cut || "…";
  }
}

async function poll() {
  try {
    const response = await fetch("/api/status", {credentials: "same-origin"});
    const status = await response.json();
    busy = status.busy;
    document.body.classList.toggle("busy", busy);
    showStatuses(status.statuses);
    showJobs(status.jobs);
    const error = document.getElementById("film-error");
    error.hidden = !status.film_error;
    error.textContent = status.film_error || "";
    const line = document.getElementById("notice");
    if (!busy && !line.classList.contains("error")) line.textContent = "";  // the jobs below say how it went
    if (!busy && status.generation !== shown) {  // a render ended, or film.yaml changed: draw it again
      shown = status.generation;
      await reloadAll();
      document.body.dataset.generation = String(shown);  // what the page shows now (tests wait on it)
    }
  } catch (error) {
    notice(`lost the server: ${error.message}`, true);
  }
  setTimeout(poll, busy ? 700 : 2000);
}

// ---- actions --------------------------------------------------------------------------------

async function act(url, body) {
  try {
    const job = await post(url, body);
    notice(`queued: ${job.label}`);
    busy = true;
    return job;
  } catch (error) {
    notice(error.message, true);
    return null;
  }
}

async function compare(button) {
  const ticked = [...panel.querySelectorAll(".pick-version:checked")].map((box) => box.value);
  const target = panel.querySelector("#compare");
  if (ticked.length !== 2) {
    target.textContent = "Tick two versions in the table below, then Compare.";
    return;
  }
  const query = new URLSearchParams({shot: button.dataset.shot, a: ticked[0], b: ticked[1]});
  target.innerHTML = await fragment(`/fragments/compare?${query}`);
}

document.addEventListener("click", async (event) => {
  const shotButton = event.target.closest("#strip .shot");
  if (shotButton) {
    const cut = document.getElementById("cut");
    if (cut && shotButton.dataset.start) cut.currentTime = Number(shotButton.dataset.start);
    await loadShot(shotButton.dataset.shot, {force: true});
    return;
  }
  const button = event.target.closest("[data-action]");
  if (!button) return;
  const {action, shot} = button.dataset;
  if (action === "pick") {
    await act("/api/pick", {shot, take: Number(button.dataset.take), clip: button.dataset.clip === "1"});
  } else if (action === "more-takes") {
    await act("/api/more-takes", {shot, more: 2});
  } else if (action === "rollback") {
    await act("/api/rollback", {shot, version: button.dataset.version});
  } else if (action === "render") {
    await act("/api/render", {});
  } else if (action === "compare") {
    await compare(button);
  }
});

document.addEventListener("input", (event) => {
  const form = event.target.closest("form.edit");
  if (form) form.dataset.dirty = "1";
});

document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form.edit");
  if (!form) return;
  event.preventDefault();
  const error = form.querySelector(".edit-error");
  const data = new FormData(form);
  try {
    const job = await post("/api/edit", {shot: form.dataset.shot, prompt: data.get("prompt"),
                                         narration: data.get("narration"), camera: data.get("camera")});
    error.hidden = true;
    error.textContent = "";
    form.dataset.dirty = "";
    notice(`queued: ${job.label}`);
    busy = true;
  } catch (problem) {
    error.textContent = problem.message;  // FilmError: film.yaml:LINE: what is wrong, and the fix
    error.hidden = false;
  }
});

// ---- keyboard: arrows move between takes (and shots), Enter uses the focused take ---------

document.addEventListener("keydown", (event) => {
  if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(event.key)) return;
  const here = document.activeElement;
  if (here && here.closest("#strip")) {
    const shots = [...document.querySelectorAll("#strip .shot")];
    const at = shots.indexOf(here.closest(".shot"));
    const step = event.key === "ArrowLeft" || event.key === "ArrowUp" ? -1 : 1;
    const next = shots[Math.min(shots.length - 1, Math.max(0, at + step))];
    if (next) { next.focus(); event.preventDefault(); }
    return;
  }
  if (here && (here.tagName === "TEXTAREA" || here.tagName === "SELECT" || here.tagName === "INPUT" ||
               here.tagName === "VIDEO")) return;
  const groups = [...panel.querySelectorAll(".takes")].map((group) => [...group.querySelectorAll("button.use")])
    .filter((buttons) => buttons.length);
  if (!groups.length) return;
  let row = groups.findIndex((buttons) => buttons.includes(here));
  let column = row >= 0 ? groups[row].indexOf(here) : -1;
  if (row < 0) {  // not on a take yet: start at the keyframe in use
    row = 0;
    column = Math.max(0, groups[0].findIndex((b) => b.getAttribute("aria-pressed") === "true"));
  } else if (event.key === "ArrowLeft") column = Math.max(0, column - 1);
  else if (event.key === "ArrowRight") column = Math.min(groups[row].length - 1, column + 1);
  else {
    row = Math.min(groups.length - 1, Math.max(0, row + (event.key === "ArrowUp" ? -1 : 1)));
    column = Math.min(groups[row].length - 1, column);
  }
  groups[row][column].focus();
  event.preventDefault();
});

markSelected();
poll();
