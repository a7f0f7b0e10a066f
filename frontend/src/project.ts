// The project page: filterable image grid with live counts, infinite scroll, and uploads
// with per-file progress and per-file outcomes.

import { api, csrfToken, type ImageItem, type Label, type Page } from "./lib/api";
import { $, el } from "./lib/dom";

const root = $("#project");
const apiBase = root.dataset.api!;
const editorUrl = root.dataset.editorUrl ?? "";
const grid = $("#grid");
const sentinel = $("#grid-sentinel");
const emptyNote = $("#grid-empty");

let filter = "";
let nextUrl: string | null = null;
let loading = false;
let generation = 0;
let labels: Label[] = [];

interface Counts {
  all: number;
  status: Record<string, number>;
  labels: Record<string, number>;
}

function tile(image: ImageItem): HTMLElement {
  const thumb = el("img", { src: image.thumbnail_url, alt: "", loading: "lazy", width: "160", height: "120" });
  const caption = el("span", { class: "tile-name", title: image.key }, image.key);
  const badge = el("span", { class: `badge status-${image.status}` }, image.status);
  const href = editorUrl ? `${editorUrl}?image=${image.id}` : image.url;
  return el("li", { class: "tile", "data-image-id": String(image.id) }, el("a", { href }, thumb, caption, badge));
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
    loading = false;
  }
  if (nextUrl && sentinel.getBoundingClientRect().top < window.innerHeight + 600) void loadMore();
}

function resetGrid(): void {
  generation += 1;
  grid.replaceChildren();
  loading = false;
  nextUrl = `${apiBase}images/${filter ? `?${filter}` : ""}`;
  void loadMore();
}

async function refreshCounts(): Promise<void> {
  const counts = await api<Counts>(`${apiBase}images/counts/`);
  for (const node of root.querySelectorAll<HTMLElement>("[data-count]")) {
    const name = node.dataset.count!;
    node.textContent = String(name === "all" ? counts.all : (counts.status[name] ?? 0));
  }
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
}

function wireFilters(): void {
  $("#filters").addEventListener("click", (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>("button[data-filter]");
    if (!button) return;
    filter = button.dataset.filter ?? "";
    for (const b of root.querySelectorAll("#filters button")) b.classList.toggle("active", b === button);
    resetGrid();
  });
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) void loadMore();
  }, { rootMargin: "600px" }).observe(sentinel);
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

function showResults(row: HTMLElement, results: FileResult[]): void {
  row.querySelector("progress")?.remove();
  const state = row.querySelector(".upload-state")!;
  const errors = results.filter((r) => r.status === "error");
  const created = results.filter((r) => r.status === "created").length;
  const duplicates = results.filter((r) => r.status === "duplicate").length;
  state.textContent = [
    created && `${created} added`,
    duplicates && `${duplicates} already here`,
    errors.length && `${errors.length} refused`,
  ]
    .filter(Boolean)
    .join(", ");
  row.classList.add(errors.length ? "has-errors" : "done");
  if (errors.length) {
    row.append(el("ul", { class: "upload-errors" }, ...errors.map((r) => el("li", {}, `${r.name}: ${r.message}`))));
  }
}

async function uploadAll(files: File[]): Promise<void> {
  const list = $("#upload-list");
  const queue = files.map((file) => {
    const row = el("li", {}, el("span", { class: "upload-name" }, file.name));
    list.prepend(row);
    return { file, row };
  });
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      showResults(job.row, await uploadOne(job.file, job.row));
    }
  };
  await Promise.all([worker(), worker(), worker()]);
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
  labels = await api<Label[]>(`${apiBase}labels/`);
  wireFilters();
  wireUpload();
  resetGrid();
  await refreshCounts();
}

void main();
