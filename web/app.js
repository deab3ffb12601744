// imgvec's page: the library (newest first, by month, with pickers that build a filter), a viewer
// (the photo at full size, its whole record, edit, delete, download, more like this), search by a
// photo, a text, a colour or a stored image, and the duplicates (keep one, remove the others, or
// "not duplicates"). Talks to the JSON API under /v1 only.
"use strict";

const PAGE = 60;
const $ = (id) => document.getElementById(id);
const state = {
  query: null, offset: 0, stats: null, generation: 0,
  library: { offset: 0, total: 0, generation: 0, loading: false },
  libraryItems: [], results: [],
  shown: [],      // the images the viewer steps through (openViewer's list)
  viewing: -1,
};

// The key writes and duplicate searches need: the one the user typed, else the token the server
// put in this page at its start (only this server's own pages can read it).
const pageToken = document.querySelector('meta[name="imgvec-token"]')?.content || "";
function keyHeaders() {
  const key = $("api-key").value || pageToken;
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
    // A change refused for want of the key (or with a wrong one): ask for it where the user can type
    // it. Other refusals (read-only, another site) are not about a key.
    const code = data && data.error ? data.error.code : "";
    if (code === "unauthorized" || code === "forbidden") $("key-row").hidden = false;
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

function sizeText(bytes) {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${bytes} bytes`;
}

// "2023-06-01T14:22:33+02:00" as people read it; the month a photo belongs to.
function dateText(taken) {
  return taken.replace("T", " ").replace(/\.\d+/, "");
}
function monthOf(record) {
  const taken = record.photo && record.photo.taken;
  if (!taken) return "No date";
  const [y, m] = taken.split("-");
  return new Date(Number(y), Number(m) - 1, 1).toLocaleString("en", { month: "long", year: "numeric" });
}
function whenText(photo) {
  if (!photo || !photo.taken) return "No date";
  const from = photo.taken_source === "file_name" ? " (from the file's name)" : "";
  return dateText(photo.taken) + from;
}

// ---------------------------------------------------------------------------- thumbnails
// One image as a thumbnail that opens the viewer on `list` (the library, the results, a group) at
// `index`, so previous and next step through what it was shown among.
function thumbItem(entry, list, index, extra) {
  const record = entry.record;
  const li = document.createElement("li");
  li.dataset.id = entry.id;
  const name = nameOf(record);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "thumb";
  button.setAttribute("aria-label", `Open ${name}`);
  button.title = record.source || name;
  const img = document.createElement("img");
  img.src = `/v1/images/${entry.id}/thumbnail`;
  img.alt = name;
  img.loading = "lazy";
  button.append(img);
  button.addEventListener("click", () => openViewer(list, index));
  const meta = document.createElement("div");
  meta.className = "meta";
  const n = document.createElement("span");
  n.className = "name";
  n.textContent = name;
  n.title = record.source || name;
  meta.append(n);
  if (extra) meta.append(extra);
  const facts = document.createElement("div");
  facts.className = "facts";
  const photo = record.photo || {};
  facts.textContent = [photo.taken ? photo.taken.slice(0, 10) : "no date", photo.camera || ""]
    .filter(Boolean).join(" · ");
  if (photo.taken_source === "file_name") facts.title = "date from the file's name, not from the camera";
  for (const c of (record.analysis && record.analysis.colours) || []) {
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = c.hex;
    swatch.title = `${c.name} ${Math.round(c.share * 100)}%`;
    facts.append(swatch);
  }
  li.append(button, meta, facts);
  return li;
}

// ---------------------------------------------------------------------------- the library
function libraryFilter() {
  const parts = [];
  if ($("from").value) parts.push(`taken>=${$("from").value}`);
  if ($("to").value) parts.push(`taken<=${$("to").value}`);
  const quoted = (v) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  if ($("camera").value) parts.push(`camera=${quoted($("camera").value)}`);
  if ($("colour").value) parts.push(`colour=${$("colour").value}`);
  const pick = $("label").value;
  if (pick) parts.push(pick.startsWith("tag:") ? `tag=${quoted(pick.slice(4))}` : `label=${quoted(pick.slice(6))}`);
  return parts.join(" and ");
}

async function loadLibrary(more = false) {
  const lib = state.library;
  if (!more) {
    lib.offset = 0;
    $("library").replaceChildren();
  }
  const mine = ++lib.generation;
  lib.loading = true;
  const params = new URLSearchParams({ offset: String(lib.offset), limit: String(PAGE), sort: "newest" });
  const filter = libraryFilter();
  if (filter) params.set("filter", filter);
  try {
    const data = await api("GET", `/v1/images?${params}`);
    if (mine !== lib.generation) return;
    if (!more) state.libraryItems = [];
    for (const entry of data.result) {
      const index = state.libraryItems.length;
      state.libraryItems.push(entry);
      const month = monthOf(entry.record);
      let group = $("library").lastElementChild;
      if (!group || group.dataset.month !== month) {
        group = document.createElement("section");
        group.className = "month";
        group.dataset.month = month;
        const h = document.createElement("h3");
        h.textContent = month;
        const grid = document.createElement("ul");
        grid.className = "grid";
        grid.setAttribute("aria-label", month);
        group.append(h, grid);
        $("library").append(group);
      }
      group.querySelector("ul").append(thumbItem(entry, state.libraryItems, index, null));
    }
    lib.offset += data.result.length;
    lib.total = data.total;
    const undated = state.stats ? state.stats.count - (state.facets ? state.facets.dated : 0) : 0;
    $("library-count").textContent = data.total === 0
      ? (filter ? "No photo matches these filters." : "The library is empty: index a folder or add photos.")
      : `${data.total} ${data.total === 1 ? "photo" : "photos"}${filter ? " match" : ""}, newest first` +
        (!filter && undated > 0 ? ` (${undated} without a date, at the end)` : "") +
        ` · showing ${lib.offset}`;
    $("library-more").hidden = lib.offset >= data.total;
  } catch (e) {
    if (mine === lib.generation) $("library-count").textContent = e.message;
  } finally {
    if (mine === lib.generation) lib.loading = false;
  }
}

function fillSelect(select, options) {
  const keep = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const [value, text] of options) select.add(new Option(text, value));
  select.value = options.some(([v]) => v === keep) ? keep : "";
}

async function loadFacets() {
  try {
    const f = await api("GET", "/v1/facets");
    state.facets = f;
    fillSelect($("camera"), f.cameras.map((c) => [c.name, `${c.name} (${c.count})`]));
    fillSelect($("colour"), f.colours.map((c) => [c.name, `${c.name} (${c.count})`]));
    fillSelect($("label"), [
      ...f.labels.map((l) => [`label:${l.name}`, `${l.name} (label, ${l.count})`]),
      ...f.tags.map((t) => [`tag:${t.name}`, `${t.name} (tag, ${t.count})`]),
    ]);
    if (f.first_taken) $("from").min = $("to").min = f.first_taken.slice(0, 10);
    if (f.last_taken) $("from").max = $("to").max = f.last_taken.slice(0, 10);
  } catch (e) {
    // The pickers stay empty; the library still lists.
  }
}

// ---------------------------------------------------------------------------- the viewer
function fact(list, term, value) {
  if (value === undefined || value === null || value === "") return;
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value;
  list.append(dt, dd);
}

function coordinates(photo) {
  if (typeof photo.latitude !== "number" || typeof photo.longitude !== "number") return "";
  const ns = photo.latitude >= 0 ? "N" : "S";
  const ew = photo.longitude >= 0 ? "E" : "W";
  return `${Math.abs(photo.latitude).toFixed(5)}° ${ns}, ${Math.abs(photo.longitude).toFixed(5)}° ${ew}`;
}

function showRecord(entry) {
  const r = entry.record;
  const name = nameOf(r);
  $("viewer-title").textContent = name;
  const img = $("viewer-image");
  img.alt = name;
  img.src = `/v1/images/${entry.id}/view`;
  $("viewer-download").href = `/v1/images/${entry.id}/file`;
  $("viewer-download").setAttribute("download", name);
  const list = $("viewer-facts");
  list.replaceChildren();
  const photo = r.photo || {};
  fact(list, "Taken", whenText(photo));
  if (r.mtime_ns) fact(list, "File changed", new Date(r.mtime_ns / 1e6).toLocaleString());
  fact(list, "Camera", photo.camera);
  fact(list, "Lens", photo.lens);
  fact(list, "Position", coordinates(photo));
  const colours = document.createElement("span");
  for (const c of (r.analysis && r.analysis.colours) || []) {
    const s = document.createElement("span");
    s.className = "swatch";
    s.style.background = c.hex;
    const t = document.createElement("span");
    t.textContent = ` ${c.name} ${Math.round(c.share * 100)}%  `;
    colours.append(s, t);
  }
  if (colours.childNodes.length) fact(list, "Colours", colours);
  fact(list, "Labels", (r.labels || []).map((l) => `${l.name} ${l.score.toFixed(3)}`).join(", "));
  fact(list, "Tags", (r.tags || []).join(", "));
  const meta = Object.entries(r.metadata || {}).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : v}`);
  fact(list, "Metadata", meta.join("; "));
  fact(list, "File", r.source || "added from memory (no file)");
  fact(list, "Image", `${r.format.toUpperCase()}, ${r.width} × ${r.height}, ${sizeText(r.file_size)}`);
  fact(list, "Id", String(r.id));
  $("viewer-tags").value = (r.tags || []).join(", ");
  $("viewer-meta").value = JSON.stringify(r.metadata || {}, null, 1);
  $("viewer-prev").disabled = state.viewing <= 0;
  $("viewer-next").disabled = state.viewing >= state.shown.length - 1;
  $("viewer-status").textContent = "";
}

function openViewer(list, index) {
  state.shown = list;
  state.viewing = index;
  showRecord(state.shown[index]);
  const dialog = $("viewer");
  if (!dialog.open) dialog.showModal();
  $("viewer-close").focus();
}

function step(delta) {
  const next = state.viewing + delta;
  if (next < 0 || next >= state.shown.length) return;
  state.viewing = next;
  showRecord(state.shown[next]);
}

async function saveEdits(event) {
  event.preventDefault();
  const entry = state.shown[state.viewing];
  let metadata;
  try {
    metadata = JSON.parse($("viewer-meta").value || "{}");
    if (typeof metadata !== "object" || Array.isArray(metadata) || metadata === null) throw new Error("not an object");
  } catch (e) {
    $("viewer-status").textContent = `Metadata must be a JSON object, such as {"album": "trip"}: ${e.message}`;
    return;
  }
  // Keys removed in the box are removed (null), the others set: a merge patch of the whole object.
  for (const k of Object.keys(entry.record.metadata || {})) if (!(k in metadata)) metadata[k] = null;
  const tags = $("viewer-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  try {
    const record = await api("PATCH", `/v1/images/${entry.id}`, { metadata, tags });
    entry.record = record;
    showRecord(entry);
    $("viewer-status").textContent = "Saved.";
    loadFacets();
  } catch (e) {
    $("viewer-status").textContent = `Not saved: ${e.message}`;
  }
}

async function deleteShown() {
  const entry = state.shown[state.viewing];
  const name = nameOf(entry.record);
  if (!window.confirm(`Remove ${name} from the library? Its file outside the database is not touched.`)) return;
  try {
    await api("DELETE", `/v1/images/${entry.id}`);
  } catch (e) {
    $("viewer-status").textContent = `Not deleted: ${e.message}`;
    return;
  }
  for (const li of document.querySelectorAll(`li[data-id="${entry.id}"]`)) li.remove();
  state.shown.splice(state.viewing, 1);
  if (!state.shown.length) {
    $("viewer").close();
  } else {
    state.viewing = Math.min(state.viewing, state.shown.length - 1);
    showRecord(state.shown[state.viewing]);
    $("viewer-status").textContent = `${name} deleted.`;
  }
  loadStats();
  loadFacets();
}

// ---------------------------------------------------------------------------- search
function searchOptions() {
  const options = { limit: 24, offset: state.offset };
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
  else if (q.kind === "colour") body.colours = [q.colour];
  else body.id = q.id;
  return api("POST", "/v1/search", body);
}

// What was searched, always: the photo (or its name when the browser cannot show it, as for
// HEIC), the text, the colour, or the stored image.
function showQuery(q) {
  $("query-shown").hidden = false;
  const preview = $("query-preview");
  const swatch = $("query-swatch");
  preview.hidden = true;
  swatch.hidden = true;
  if (preview.src.startsWith("blob:")) URL.revokeObjectURL(preview.src);
  preview.removeAttribute("src");
  let text = "";
  if (q.kind === "image") {
    text = `Photos like your photo ${q.file.name}`;
    preview.onerror = () => {
      preview.hidden = true;
      $("query-text").textContent = `${text} (this browser cannot show it; the server reads it)`;
    };
    preview.src = URL.createObjectURL(q.file);
    preview.alt = `Your photo: ${q.file.name}`;
    preview.hidden = false;
  } else if (q.kind === "id") {
    text = `Photos like #${q.id}, ${q.label}`;
    preview.onerror = null;
    preview.src = `/v1/images/${q.id}/thumbnail`;
    preview.alt = q.label;
    preview.hidden = false;
  } else if (q.kind === "colour") {
    text = `Photos in ${q.colour}`;
    swatch.style.background = q.colour;
    swatch.hidden = false;
  } else {
    text = `Photos matching “${q.text}”`;
  }
  $("query-text").textContent = text;
}

async function search(query, more = false) {
  if (!more) {
    state.query = query;
    state.offset = 0;
    $("results").replaceChildren();
    state.results = [];
    showQuery(query);
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
    for (const hit of data.result) {
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = hit.score.toFixed(3);
      score.title = `similarity ${hit.score.toFixed(4)}`;
      $("results").append(thumbItem(hit, state.results, state.results.length, score));
      state.results.push(hit);
    }
    state.offset += data.result.length;
    const shown = $("results").children.length;
    $("status").textContent = shown
      ? `${shown} ${shown === 1 ? "image" : "images"} (${data.time_ms.toFixed(1)} ms)`
      : "Nothing matches.";
    // A filter key no image has: the server says so, and so does the page.
    const warnings = data.warnings || [];
    $("warnings").textContent = warnings.map((w) => `Note: ${w}.`).join(" ");
    $("warnings").hidden = warnings.length === 0;
    $("more").hidden = data.result.length < 24;
  } catch (e) {
    if (mine !== state.generation) return;
    $("status").textContent = "";
    showError(e.message);
  }
}

function useFile(file) {
  if (file) search({ kind: "image", file });
}

async function loadStats() {
  try {
    const s = await api("GET", "/v1/stats");
    state.stats = s;
    $("footer").textContent =
      `${s.count} images · ${s.encoder.model} · ${s.index} index (${s.storage}) · imgvec ${s.version}`;
    if (!s.text_search) {
      $("text").disabled = true;
      $("text-go").disabled = true;
      const reason = $("text-reason");
      reason.textContent = "Text search is off: this database was built without a text model " +
        "(index it with a CLIP bundle, --model, to search by words).";
      reason.hidden = false;
      $("text").setAttribute("aria-describedby", "text-reason");
    }
    $("add").hidden = s.writes === "disabled";
    for (const id of ["viewer-delete", "viewer-save"]) $(id).disabled = s.writes === "disabled";
    if (s.writes === "need a key") $("key-row").hidden = false;
    return true;
  } catch (e) {
    $("footer").textContent = e.status === 503 ? "The database is loading…" : `Cannot reach the server: ${e.message}`;
    if (e.status === 503) setTimeout(start, 500);
    return false;
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
      if (e.status === 401 || e.status === 403) break;
    }
  }
  out.textContent = `${added} added.` + (problems.length ? ` ${problems.join(" ")}` : "");
  loadStats();
  loadFacets();
  loadLibrary();
}

// ---------------------------------------------------------------------------- duplicates
function whyText(m) {
  if (m.keeper) return "the largest: kept";
  if (m.matched_by === "identical") return "identical bytes";
  if (m.matched_by === "verified") return `the same photo, verified on its pixels (similarity ${m.score.toFixed(3)})`;
  return `similarity ${m.score.toFixed(3)}`;
}

function groupItem(g, i) {
  const li = document.createElement("li");
  li.className = "group";
  const h = document.createElement("h3");
  h.textContent = `Group ${i + 1}: ${g.images.length} images${g.exact ? " (identical files)" : ""}`;
  const fieldset = document.createElement("fieldset");
  const legend = document.createElement("legend");
  legend.textContent = "Keep which?";
  fieldset.append(legend);
  const grid = document.createElement("ul");
  grid.className = "grid";
  grid.setAttribute("aria-label", `Group ${i + 1}`);
  // The keeper first, marked in words as well as by its border and its selected choice.
  const members = [...g.images].sort((a, b) => Number(b.keeper) - Number(a.keeper));
  const entries = members.map((m) => ({ id: m.id, record: m.record }));
  for (const [k, m] of members.entries()) {
    const r = m.record;
    const choice = document.createElement("label");
    choice.className = "keep";
    const radio = document.createElement("input");
    radio.type = "radio";
    radio.name = `keep-${i}`;
    radio.value = String(m.id);
    radio.checked = m.keeper;
    const photo = r.photo || {};
    choice.append(radio, ` Keep ${nameOf(r)}`);
    const details = document.createElement("span");
    details.className = "details";
    details.textContent = `${r.width} × ${r.height} · ${sizeText(r.file_size)} · ` +
      `${photo.taken ? dateText(photo.taken).slice(0, 10) : "no date"} · ${whyText(m)}`;
    const item = thumbItem(entries[k], entries, k, details);
    if (m.keeper) {
      item.classList.add("keeper");
      item.dataset.keeper = "true";
    }
    item.prepend(choice);
    grid.append(item);
  }
  fieldset.append(grid);
  const actions = document.createElement("div");
  actions.className = "row";
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "danger";
  remove.textContent = "Remove the others";
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.textContent = "Not duplicates";
  const status = document.createElement("p");
  status.setAttribute("role", "status");
  remove.addEventListener("click", async () => {
    const keep = Number(fieldset.querySelector("input:checked").value);
    const others = members.filter((m) => m.id !== keep);
    const kept = nameOf(members.find((m) => m.id === keep).record);
    if (!window.confirm(`Keep ${kept} and remove the ${others.length} other ` +
                        `${others.length === 1 ? "image" : "images"} of this group from the library?`)) return;
    try {
      for (const m of others) await api("DELETE", `/v1/images/${m.id}`);
      li.replaceChildren(Object.assign(document.createElement("p"), {
        className: "done", textContent: `Kept ${kept}; removed ${others.length}.` }));
      loadStats();
      loadLibrary();
    } catch (e) {
      status.textContent = `Not removed: ${e.message}`;
    }
  });
  dismiss.addEventListener("click", async () => {
    try {
      await api("POST", "/v1/duplicates/dismiss", { ids: members.map((m) => m.id) });
      li.replaceChildren(Object.assign(document.createElement("p"), {
        className: "done", textContent: "Marked as not duplicates: this group will not be proposed again." }));
    } catch (e) {
      status.textContent = `Not marked: ${e.message}`;
    }
  });
  actions.append(remove, dismiss);
  li.append(h, fieldset, actions, status);
  return li;
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
    for (const [i, g] of data.groups.entries()) list.append(groupItem(g, i));
    status.textContent = data.groups.length
      ? `${data.groups.length} ${data.groups.length === 1 ? "group" : "groups"} of near-duplicates ` +
        `(${data.time_ms.toFixed(0)} ms${data.verified ? ", near pairs verified on their pixels" : ""}). ` +
        "The largest of each is chosen to keep."
      : "No duplicates at this similarity.";
  } catch (e) {
    status.textContent = e.message;
  }
}

// ---------------------------------------------------------------------------- wiring
function showView(which) {
  for (const v of ["library", "search", "dups"]) {
    $(`view-${v}`).hidden = v !== which;
    $(`tab-${v}`).setAttribute("aria-pressed", String(v === which));
  }
}

async function start() {
  if (await loadStats()) {
    loadFacets();
    loadLibrary();
  }
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
  $("colour-form").addEventListener("submit", (e) => {
    e.preventDefault();
    search({ kind: "colour", colour: $("colour-query").value });
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
  for (const id of ["from", "to", "camera", "colour", "label"]) $(id).addEventListener("change", () => loadLibrary());
  $("clear-filters").addEventListener("click", () => {
    for (const id of ["from", "to", "camera", "colour", "label"]) $(id).value = "";
    loadLibrary();
  });
  $("library-more").addEventListener("click", () => loadLibrary(true));
  // Infinite scroll: the next page loads as the "Load more" button comes into view.
  new IntersectionObserver((seen) => {
    if (seen.some((e) => e.isIntersecting) && !state.library.loading && !$("library-more").hidden) loadLibrary(true);
  }).observe($("library-more"));
  $("more").addEventListener("click", () => search(state.query, true));
  $("add-go").addEventListener("click", addPhotos);
  for (const v of ["library", "search", "dups"]) $(`tab-${v}`).addEventListener("click", () => showView(v));
  $("dups-form").addEventListener("submit", findDuplicates);
  $("viewer-close").addEventListener("click", () => $("viewer").close());
  $("viewer-prev").addEventListener("click", () => step(-1));
  $("viewer-next").addEventListener("click", () => step(1));
  $("viewer").addEventListener("keydown", (e) => {
    if (e.target.closest("form")) return;  // typing in the edit boxes
    if (e.key === "ArrowLeft") step(-1);
    if (e.key === "ArrowRight") step(1);
  });
  $("viewer-like").addEventListener("click", () => {
    const entry = state.shown[state.viewing];
    $("viewer").close();
    showView("search");
    search({ kind: "id", id: entry.id, label: nameOf(entry.record) });
  });
  $("viewer-delete").addEventListener("click", deleteShown);
  $("viewer-edit").addEventListener("submit", saveEdits);
  start();
}

document.addEventListener("DOMContentLoaded", init);
