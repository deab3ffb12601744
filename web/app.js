// imgvec's page: search by a photo (dropped or chosen), by text, or by a result ("more like
// this"); filter, minimum score, paging; duplicates; uploads. Talks to the JSON API under /v1 only.
"use strict";

const PAGE = 24;
const $ = (id) => document.getElementById(id);
const state = { query: null, offset: 0, stats: null, generation: 0 };

// The key writes and duplicate searches need: the one the user typed, else the token the server
// put in this page at its start (only this server's own pages can read it).
const pageToken = document.querySelector('meta[name="imgvec-token"]')?.content || "";
function keyHeaders() {
  const typed = $("api-key").value;
  const key = typed || pageToken;
  return key ? { "X-API-Key": key } : {};
}

async function api(method, path, body, headers = {}) {
  const init = { method, headers: { ...keyHeaders(), ...headers } };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const res = await fetch(path, init);
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    throw new Error(`the server answered ${res.status} without JSON`);
  }
  if (!res.ok) {
    const err = new Error(data && data.error ? data.error.message : `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

function showError(message) {
  const el = $("error");
  el.textContent = message || "";
  el.hidden = !message;
}

function nameOf(record) {
  if (record.metadata && typeof record.metadata.name === "string") return record.metadata.name;
  if (record.source) return record.source.split("/").pop();
  return `image ${record.id}`;
}

function searchOptions() {
  const options = { limit: PAGE, offset: state.offset };
  const filter = $("filter").value.trim();
  if (filter) options.filter = filter;
  const min = parseFloat($("min-score").value);
  if (min > -1) options.score_threshold = min;
  const sort = $("sort").value;
  if (sort !== "score") options.sort = sort;
  return options;
}

async function runQuery() {
  const q = state.query;
  const options = searchOptions();
  if (q.kind === "image") {
    const form = new FormData();
    form.append("file", q.file, q.file.name || "photo");
    for (const [k, v] of Object.entries(options)) form.append(k, String(v));
    return api("POST", "/v1/search/image", form);
  }
  const body = { ...options };
  if (q.kind === "text") body.text = q.text;
  else body.id = q.id;
  return api("POST", "/v1/search", body);
}

function resultItem(hit) {
  const li = document.createElement("li");
  li.dataset.id = hit.id;
  const name = nameOf(hit.record);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "thumb";
  button.setAttribute("aria-label", `More like ${name}`);
  button.title = "More like this";
  const img = document.createElement("img");
  img.src = hit.thumbnail;
  img.alt = name;
  img.loading = "lazy";
  button.append(img);
  button.addEventListener("click", () => search({ kind: "id", id: hit.id, label: name }));
  const meta = document.createElement("div");
  meta.className = "meta";
  const n = document.createElement("span");
  n.className = "name";
  n.textContent = name;
  n.title = hit.record.source || name;
  const s = document.createElement("span");
  s.className = "score";
  s.textContent = hit.score.toFixed(2);
  s.title = `similarity ${hit.score.toFixed(4)}`;
  meta.append(n, s);
  li.append(button, meta);
  // What the photo is: when and with what it was taken, its colours, its labels.
  const facts = document.createElement("div");
  facts.className = "facts";
  const photo = hit.record.photo || {};
  const when = photo.taken ? photo.taken.slice(0, 10) : "";
  facts.textContent = [when, photo.camera || ""].filter(Boolean).join(" · ");
  if (photo.taken_source === "file_name") facts.title = "date from the file's name, not from the camera";
  for (const c of (hit.record.analysis && hit.record.analysis.colours) || []) {
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = c.hex;
    swatch.title = `${c.name} ${Math.round(c.share * 100)}%`;
    facts.append(swatch);
  }
  const labels = (hit.record.labels || []).map((l) => l.name);
  if (labels.length) li.title = labels.join(", ");
  li.append(facts);
  return li;
}

async function search(query, more = false) {
  if (!more) {
    state.query = query;
    state.offset = 0;
    $("results").replaceChildren();
  }
  showError("");
  $("more").hidden = true;
  $("status").textContent = "Searching…";
  // A search started since (another filter, another order) replaces this one: its answer, when it
  // comes, must not be appended to the newer one's results.
  const mine = ++state.generation;
  try {
    const data = await runQuery();
    if (mine !== state.generation) return;
    for (const hit of data.result) $("results").append(resultItem(hit));
    state.offset += data.result.length;
    const what = query.kind === "image" ? "your photo" : query.kind === "text" ? `“${query.text}”` : query.label;
    const shown = $("results").children.length;
    $("status").textContent = shown
      ? `${shown} ${shown === 1 ? "image" : "images"} like ${what} (${data.time_ms.toFixed(1)} ms)`
      : `Nothing matches ${what}.`;
    // A filter key no image has: the server says so, and so does the page.
    const warnings = data.warnings || [];
    $("warnings").textContent = warnings.map((w) => `Note: ${w}.`).join(" ");
    $("warnings").hidden = warnings.length === 0;
    $("more").hidden = data.result.length < PAGE;
  } catch (e) {
    if (mine !== state.generation) return;
    $("status").textContent = "";
    showError(e.message);
  }
}

function useFile(file) {
  if (!file) return;
  const preview = $("query-preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(file);
  preview.alt = `Your photo: ${file.name}`;
  preview.hidden = false;
  search({ kind: "image", file });
}

async function loadStats() {
  try {
    const s = await api("GET", "/v1/stats");
    state.stats = s;
    $("footer").textContent =
      `${s.count} images · ${s.encoder.model} · ${s.index} index (${s.storage}) · imgvec ${s.version}`;
    const text = $("text");
    const go = $("text-go");
    if (!s.text_search) {
      text.disabled = true;
      go.disabled = true;
      const reason = $("text-reason");
      reason.textContent = "Text search is off: this database was built without a text model " +
        "(index it with a CLIP bundle, --model, to search by words).";
      reason.hidden = false;
      text.setAttribute("aria-describedby", "text-reason");
    }
    $("add").hidden = s.writes === "disabled";
    $("key-row").hidden = s.writes !== "need a key";
  } catch (e) {
    $("footer").textContent = e.status === 503 ? "The database is loading…" : `Cannot reach the server: ${e.message}`;
    if (e.status === 503) setTimeout(loadStats, 500);
  }
}

async function addPhotos() {
  const files = [...$("add-files").files];
  const out = $("add-status");
  if (!files.length) {
    out.textContent = "Choose one or more photos first.";
    return;
  }
  let added = 0;
  const problems = [];
  for (const file of files) {
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      const r = await api("POST", "/v1/images", form);
      if (r.status === "added") added += 1;
    } catch (e) {
      problems.push(e.message);
      if (e.status === 401 || e.status === 403) {
        $("key-row").hidden = false;
        break;
      }
    }
  }
  out.textContent = `${added} added.` + (problems.length ? ` ${problems.join(" ")}` : "");
  loadStats();
}

async function findDuplicates(event) {
  event.preventDefault();
  const status = $("dups-status");
  const list = $("groups");
  list.replaceChildren();
  status.textContent = "Looking for duplicates…";
  try {
    const threshold = parseFloat($("dups-threshold").value);
    const data = await api("POST", "/v1/duplicates", { threshold });
    for (const [i, g] of data.groups.entries()) {
      const li = document.createElement("li");
      li.className = "group";
      const h = document.createElement("h3");
      h.textContent = `Group ${i + 1}: ${g.images.length} images${g.exact ? " (identical files)" : ""}`;
      const grid = document.createElement("ul");
      grid.className = "grid";
      grid.setAttribute("aria-label", `Group ${i + 1}`);
      // The keeper first, marked in words as well as by its border.
      const members = [...g.images].sort((a, b) => Number(b.keeper) - Number(a.keeper));
      for (const m of members) {
        const item = resultItem({ id: m.id, score: m.score, record: m.record, thumbnail: m.thumbnail });
        if (m.keeper) {
          item.classList.add("keeper");
          item.dataset.keeper = "true";
          const badge = document.createElement("div");
          badge.className = "badge";
          badge.textContent = "Keeper";
          item.querySelector(".meta").before(badge);
          item.querySelector("button.thumb").setAttribute("aria-label", `Keeper: more like ${nameOf(m.record)}`);
        }
        if (m.matched_by === "verified") {
          // Its score can be far below the threshold: say why it is in the group.
          const note = document.createElement("div");
          note.className = "match-note";
          note.textContent = "Same photo, verified on its pixels";
          item.querySelector(".meta").append(note);
        }
        grid.append(item);
      }
      li.append(h, grid);
      list.append(li);
    }
    status.textContent = data.groups.length
      ? `${data.groups.length} ${data.groups.length === 1 ? "group" : "groups"} of near-duplicates ` +
        `(${data.time_ms.toFixed(0)} ms${data.verified ? ", near pairs verified on their pixels" : ""}). ` +
        "The keeper is the largest."
      : "No duplicates at this similarity.";
  } catch (e) {
    status.textContent = e.message;
  }
}

function showView(which) {
  const dups = which === "dups";
  $("view-search").hidden = dups;
  $("view-dups").hidden = !dups;
  $("tab-search").setAttribute("aria-pressed", String(!dups));
  $("tab-dups").setAttribute("aria-pressed", String(dups));
}

function init() {
  const drop = $("drop");
  $("file").addEventListener("change", (e) => useFile(e.target.files[0]));
  drop.addEventListener("click", (e) => {
    if (e.target.tagName !== "LABEL" && e.target.tagName !== "INPUT") $("file").click();
  });
  drop.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      $("file").click();
    }
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    useFile(e.dataTransfer.files[0]);
  });
  $("text-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text").value.trim();
    if (text) search({ kind: "text", text });
  });
  $("min-score").addEventListener("input", (e) => {
    const v = parseFloat(e.target.value);
    $("min-score-value").textContent = v > -1 ? v.toFixed(2) : "any";
  });
  for (const id of ["min-score", "filter", "sort"]) {
    $(id).addEventListener("change", () => {
      if (state.query) search(state.query);
    });
  }
  $("more").addEventListener("click", () => search(state.query, true));
  $("add-go").addEventListener("click", addPhotos);
  $("tab-search").addEventListener("click", () => showView("search"));
  $("tab-dups").addEventListener("click", () => showView("dups"));
  $("dups-form").addEventListener("submit", findDuplicates);
  loadStats();
}

document.addEventListener("DOMContentLoaded", init);
