// The project page: filterable image grid with live counts, infinite scroll, uploads with
// per-file progress and outcomes, the label manager, the Assist panel (project/assist.ts), and
// several images chosen at once for bulk actions. What others change (uploads, deletions,
// annotations, reviews, imports, syncs, labels, suggestions) arrives over the project's websocket
// and updates the counts and the grid.
//
// The grid's filter and order live in the page's URL (`?status=unlabelled&order=uncertain`), so a
// reload or a shared link shows the same images; the editor link of each tile carries the order
// and the auto-labelled filter, so the editor's "next" walks the images in the grid's order.

import { api, csrfToken, type ImageItem, type Label, type Page } from "./lib/api";
import { $, el } from "./lib/dom";
import { FINISHED_JOB, type ProjectEvent } from "./lib/events";
import { AssistPanel } from "./project/assist";
import { LabelManager } from "./project/labels";
import { connectProject } from "./project/live";
import { Selection } from "./project/selection";

const root = $("#project");
const apiBase = root.dataset.api!;
const editorUrl = root.dataset.editorUrl ?? "";
const grid = $("#grid");
const sentinel = $("#grid-sentinel");
const emptyNote = $("#grid-empty");
// Bursts of events (an import adds hundreds of images) cost one refresh each of these.
const COUNTS_DELAY_MS = 300;
const GRID_DELAY_MS = 800;
// More changed tiles than this at once: reload the grid rather than each tile.
const MAX_TILE_UPDATES = 40;

let filter = "";
// "key" (by name) or "uncertain" (the images the assist model was least sure of first; only predicted ones).
let order = "key";
let nextUrl: string | null = null;
let loading = false;
let generation = 0;
let labels: Label[] = [];

interface Counts {
  all: number;
  annotated: number;
  status: Record<string, number>;
  labels: Record<string, number>;
}

/** The grid's query: its filter and, unless by name, its order. */
function gridQuery(): string {
  const query = new URLSearchParams(filter);
  if (order !== "key") query.set("order", order);
  return query.toString();
}

/** What the editor needs to walk the images as the grid shows them. */
function editorQuery(id: number): string {
  const query = new URLSearchParams({ image: String(id) });
  if (order !== "key") query.set("order", order);
  if (new URLSearchParams(filter).get("auto_labelled") === "true") query.set("auto_labelled", "true");
  return query.toString();
}

function tile(image: ImageItem): HTMLElement {
  const thumb = el("img", { src: image.thumbnail_url, alt: "", loading: "lazy", width: "160", height: "120" });
  const caption = el("span", { class: "tile-name", title: image.key }, image.key);
  const badge = el("span", { class: `badge status-${image.status}` }, image.negative ? "no objects" : image.status);
  const href = editorUrl ? `${editorUrl}?${editorQuery(image.id)}` : image.url;
  const node = el("li", { class: "tile", "data-image-id": String(image.id) });
  if (selection.enabled) {
    const check = el("input", { type: "checkbox", class: "tile-check", "data-image-id": String(image.id), "aria-label": `Select ${image.key}` });
    node.append(el("label", { class: "tile-select" }, check));
  }
  const link = el("a", { href }, thumb, caption, badge);
  if (image.auto_labelled) {
    link.append(el("span", { class: "badge-auto", title: "Auto-labelled: written by the assist model, not saved by a person since" }, "auto"));
  }
  if (order === "uncertain" && image.uncertainty != null) {
    const figure = image.uncertainty.toFixed(2);
    link.append(el("span", { class: "tile-uncertainty", title: `The assist model's uncertainty on this image: ${figure}` }, figure));
  }
  node.append(link);
  selection.drawn(node, image.id);
  return node;
}

async function loadMore(): Promise<void> {
  if (loading || nextUrl === null) return;
  loading = true;
  const mine = generation;
  try {
    const page = await api<Page<ImageItem>>(nextUrl);
    if (mine !== generation) return; // the filter changed while this page was loading
    grid.append(...page.results.map(tile));
    nextUrl = page.next;
    emptyNote.hidden = grid.childElementCount > 0;
  } finally {
    if (mine === generation) loading = false;
  }
  if (nextUrl && sentinel.getBoundingClientRect().top < window.innerHeight + 600) void loadMore();
}

function resetGrid(): void {
  generation += 1;
  grid.replaceChildren();
  loading = false;
  const query = gridQuery();
  nextUrl = `${apiBase}images/${query ? `?${query}` : ""}`;
  emptyNote.textContent = order === "uncertain"
    ? "No predicted images here: predict with the assist model first (Assist model, above)."
    : "No images here yet.";
  void loadMore();
}

/** Keep the filter and order in the address, for a reload or a shared link. */
function showInUrl(): void {
  const query = gridQuery();
  window.history.replaceState(null, "", query ? `?${query}` : location.pathname);
}

/** The filter and order a link or a reload asked for; a filter no button offers is dropped. */
function readUrl(): void {
  const query = new URLSearchParams(location.search);
  order = query.get("order") === "uncertain" ? "uncertain" : "key";
  query.delete("order");
  const wanted = query.toString();
  const button = [...root.querySelectorAll<HTMLButtonElement>("#filters button[data-filter]")].find((b) => b.dataset.filter === wanted);
  // Label buttons are drawn with the counts; until then a label filter is taken on trust.
  filter = button || /^label=\d+$/.test(wanted) ? wanted : "";
  for (const b of root.querySelectorAll("#filters button")) b.classList.toggle("active", b === button);
  if (!filter) root.querySelector('#filters button[data-filter=""]')?.classList.add("active");
  ($("#grid-order") as HTMLSelectElement).value = order;
}

async function refreshCounts(): Promise<void> {
  const counts = await api<Counts>(`${apiBase}images/counts/`);
  for (const node of root.querySelectorAll<HTMLElement>("[data-count]")) {
    const name = node.dataset.count!;
    const n = name === "all" ? counts.all : name === "annotated" ? counts.annotated : counts.status[name];
    node.textContent = String(n ?? 0);
  }
  manager.setCounts(counts.labels);
  const holder = $("#label-filters");
  holder.replaceChildren(
    ...labels.map((label) => {
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = label.color; // CSSOM, not a style attribute: allowed by the CSP
      const button = el(
        "button",
        { "data-filter": `label=${label.id}` },
        swatch,
        label.name,
        " ",
        el("span", { class: "count" }, String(counts.labels[String(label.id)] ?? 0)),
      );
      if (filter === `label=${label.id}`) button.classList.add("active");
      return button;
    }),
  );
  if (filter.startsWith("label=") && !labels.some((l) => filter === `label=${l.id}`)) {
    filter = ""; // the label filtered on was deleted or merged away
    root.querySelector<HTMLButtonElement>('#filters button[data-filter=""]')?.classList.add("active");
    showInUrl();
    resetGrid();
  }
}

function wireFilters(): void {
  $("#filters").addEventListener("click", (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>("button[data-filter]");
    if (!button) return;
    filter = button.dataset.filter ?? "";
    for (const b of root.querySelectorAll("#filters button")) b.classList.toggle("active", b === button);
    showInUrl();
    resetGrid();
  });
  const orderSelect = $("#grid-order") as HTMLSelectElement;
  orderSelect.addEventListener("change", () => {
    order = orderSelect.value;
    showInUrl();
    resetGrid();
  });
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) void loadMore();
  }, { rootMargin: "600px" }).observe(sentinel);
}

// --- Refreshing after changes, ours or others' ----------------------------------------------

let countsTimer = 0;
let gridTimer = 0;
let tilesTimer = 0;
const changedTiles = new Set<number>();

function scheduleCounts(): void {
  window.clearTimeout(countsTimer);
  countsTimer = window.setTimeout(() => void refreshCounts().catch(() => undefined), COUNTS_DELAY_MS);
}

/** Images came or went in bulk: reload the grid (selection kept) and the counts. */
function scheduleGrid(): void {
  scheduleCounts();
  window.clearTimeout(gridTimer);
  gridTimer = window.setTimeout(resetGrid, GRID_DELAY_MS);
}

/** One image's status or annotations changed: redraw its tile where it is shown. */
function scheduleTile(id: number): void {
  scheduleCounts();
  if (!grid.querySelector(`[data-image-id="${id}"]`)) return;
  changedTiles.add(id);
  window.clearTimeout(tilesTimer);
  tilesTimer = window.setTimeout(() => void redrawTiles(), COUNTS_DELAY_MS);
}

async function redrawTiles(): Promise<void> {
  const ids = [...changedTiles];
  changedTiles.clear();
  if (ids.length > MAX_TILE_UPDATES) return resetGrid();
  for (const id of ids) {
    const image = await api<ImageItem>(`${apiBase}images/${id}/`).catch(() => null);
    const old = grid.querySelector(`[data-image-id="${id}"]`);
    if (image && old) old.replaceWith(tile(image));
  }
}

function removeTile(id: number): void {
  grid.querySelector(`[data-image-id="${id}"]`)?.remove();
  selection.forget(id);
  emptyNote.hidden = grid.childElementCount > 0;
  scheduleCounts();
}

function projectEvent(event: ProjectEvent): void {
  if (event.event === "image.deleted") removeTile(event.payload.id);
  else if (event.event === "image.created") scheduleGrid();
  else if (event.event === "images.imported") importedOrSynced();
  else if (event.event === "annotations.changed" || event.event === "image.reviewed") scheduleTile(event.payload.image);
  else if (event.event === "labels.changed") void manager.load().then(scheduleCounts);
  else if (event.event === "suggestions.changed") {
    // New predictions move images in the uncertain order (and bring new ones into it).
    if (order === "uncertain") scheduleGrid();
  }
  else if (event.event === "job.progress") {
    // A sync or import that ended (even failed: part of it may be committed) brought images and labels.
    const { kind, status } = event.payload;
    if ((kind === "sync" || kind === "import") && FINISHED_JOB.has(status)) importedOrSynced();
  }
}

/** Imports and syncs bring labels of their own, as well as images. */
function importedOrSynced(): void {
  void manager.load().catch(() => undefined);
  scheduleGrid();
}

function dataChanged(): void {
  scheduleGrid();
}

const manager = new LabelManager(apiBase, root.dataset.canManageLabels === "true", {
  labelsChanged: (current) => {
    labels = current;
    scheduleCounts();
  },
  dataChanged,
});

const selection = new Selection(apiBase, grid, {
  filter: gridQuery,
  confirm: (text, action) => confirmDialog(text, action),
  dataChanged,
});

function confirmDialog(text: string, action: string): Promise<boolean> {
  const dialog = $("#confirm-dialog") as HTMLDialogElement;
  $("#confirm-text", dialog).textContent = text;
  $("#confirm-ok", dialog).textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) =>
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true }),
  );
}

// --- Uploads -------------------------------------------------------------------------

interface FileResult {
  name: string;
  status: string;
  code?: string;
  message?: string;
}

function uploadOne(file: File, row: HTMLElement): Promise<FileResult[]> {
  const bar = el("progress", { max: "100", value: "0" });
  const state = el("span", { class: "upload-state" }, "waiting");
  row.append(bar, state);
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${apiBase}images/`);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
      state.textContent = "uploading";
    };
    xhr.onload = () => {
      let body: any = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* a non-JSON answer (proxy error page) is reported below */
      }
      const results: FileResult[] = body?.results ?? body?.error?.results ?? [];
      if (!results.length) {
        results.push({ name: file.name, status: "error", message: body?.error?.message ?? `HTTP ${xhr.status}` });
      }
      resolve(results);
    };
    xhr.onerror = () => resolve([{ name: file.name, status: "error", message: "Network error; try again." }]);
    const form = new FormData();
    form.append("files", file);
    xhr.send(form);
  });
}

// "15 added, 1 already here, 2 refused": images, not files (a zip counts each member it held).
// Duplicates (same content as an image the project has) are neither added nor refused.
function outcomeText(results: FileResult[]): string {
  const count = (status: string) => results.filter((r) => r.status === status).length;
  const [created, duplicates, errors] = [count("created"), count("duplicate"), count("error")];
  const parts = [`${created} added`];
  if (duplicates) parts.push(`${duplicates} already here`);
  if (errors) parts.push(`${errors} refused`);
  return parts.join(", ");
}

function showResults(row: HTMLElement, results: FileResult[]): void {
  row.querySelector("progress")?.remove();
  const state = row.querySelector(".upload-state")!;
  const errors = results.filter((r) => r.status === "error");
  state.textContent = outcomeText(results);
  row.classList.add(errors.length ? "has-errors" : "done");
  if (errors.length) {
    row.append(el("ul", { class: "upload-errors" }, ...errors.map((r) => el("li", {}, `${r.name}: ${r.message}`))));
  }
}

// One line for the whole drop, above the per-file rows: what came of it, at a glance.
function uploadSummary(): HTMLElement {
  const list = $("#upload-list");
  let line = document.getElementById("upload-summary");
  if (!line) {
    line = el("p", { id: "upload-summary", class: "upload-summary", role: "status" });
    list.before(line);
  }
  return line;
}

async function uploadAll(files: File[]): Promise<void> {
  if (!files.length) return;
  const list = $("#upload-list");
  const summary = uploadSummary();
  const plural = files.length === 1 ? "file" : "files";
  summary.textContent = `Uploading ${files.length} ${plural}…`;
  summary.dataset.state = "uploading";
  const all: FileResult[] = [];
  const queue = files.map((file) => {
    const row = el("li", {}, el("span", { class: "upload-name" }, file.name));
    list.prepend(row);
    return { file, row };
  });
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const results = await uploadOne(job.file, job.row);
      all.push(...results);
      showResults(job.row, results);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  summary.textContent = `${files.length} ${plural}: ${outcomeText(all)}.`;
  summary.dataset.state = all.some((r) => r.status === "error") ? "has-errors" : "done";
  await refreshCounts();
  resetGrid();
}

function wireUpload(): void {
  const input = root.querySelector<HTMLInputElement>("#file-input");
  const zone = root.querySelector<HTMLElement>("#dropzone");
  if (!input || !zone) return;
  input.addEventListener("change", () => {
    void uploadAll([...(input.files ?? [])]);
    input.value = "";
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    void uploadAll([...(e.dataTransfer?.files ?? [])]);
  });
}

async function main(): Promise<void> {
  readUrl();
  wireFilters();
  wireUpload();
  // The datasets panel saw a job finish without the socket's help (a worker elsewhere).
  document.addEventListener("project:data-changed", importedOrSynced);
  // Events may have been missed while the socket was down: catch up (images, counts, labels) once it is back.
  connectProject(root.dataset.projectId!, projectEvent, importedOrSynced);
  const assist = document.getElementById("assist-panel");
  if (assist) new AssistPanel(assist, apiBase, root.dataset.projectId!, root.dataset.projectType!).start();
  await manager.load();
  resetGrid();
  await refreshCounts();
}

void main();
