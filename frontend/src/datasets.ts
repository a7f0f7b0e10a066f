// The project page's datasets panel: import a zip in any format, export in any format, follow the jobs.
// It listens to the project's websocket (project.ts keeps it, and re-sends its events as
// `project:event`): each import/export.progress event refreshes the lists. A worker in another
// process reaches the socket only through a shared channel layer (Redis), so while a job is
// active the panel also polls: slowly while the socket is open, briskly while it is not.
// When an import finishes it tells the page (`project:data-changed`): the grid and counts follow.

import { api, ApiError } from "./lib/api";
import { $, el } from "./lib/dom";

const POLL_MS_WITHOUT_SOCKET = 1500;
const POLL_MS_WITH_SOCKET = 10000;
const EVENT_DELAY_MS = 200;
const ACTIVE = new Set(["queued", "running"]);

type Job = {
  id: number;
  status: string;
  format: string;
  phase: string;
  done: number;
  total: number;
  error: string;
  report: Record<string, any>;
  created_at: string;
  file_name?: string;
  download_url?: string | null;
};

const panel = document.getElementById("datasets");
if (panel) {
  const base = panel.dataset.api as string;
  const importList = $("#import-jobs", panel);
  const exportList = $("#export-jobs", panel);
  let timer = 0;
  let eventTimer = 0;
  const finishedImports = new Set<number>();
  let firstLoad = true;
  const socketOpen = () => document.body.dataset.projectSocket === "open";

  const progress = (job: Job): string => {
    if (job.status === "failed") return `failed: ${job.error}`;
    if (job.status === "succeeded") return "done";
    if (job.total) return `${job.phase} ${job.done} / ${job.total}`;
    return job.phase || job.status;
  };

  const importRow = (job: Job): HTMLElement => {
    const r = job.report || {};
    const summary = job.status === "succeeded"
      ? ` — ${r.images} images, ${r.boxes} boxes, ${r.labels} labels (${r.format})${r.skipped?.length ? `, ${r.skipped.length} skipped` : ""}`
      : "";
    return el("li", { class: `job ${job.status}` }, `${job.file_name || "upload"}: ${progress(job)}${summary}`);
  };

  const exportRow = (job: Job): HTMLElement => {
    const row = el("li", { class: `job ${job.status}` }, `${job.format}: ${progress(job)} `);
    if (job.download_url) row.append(el("a", { href: job.download_url }, "download"));
    return row;
  };

  const refresh = async () => {
    window.clearTimeout(timer);
    const [imports, exports] = await Promise.all([api<Job[]>(`${base}imports/`), api<Job[]>(`${base}exports/`)]);
    importList.replaceChildren(...imports.slice(0, 5).map(importRow));
    exportList.replaceChildren(...exports.slice(0, 5).map(exportRow));
    const done = imports.filter((job) => job.status === "succeeded" && !finishedImports.has(job.id));
    for (const job of done) finishedImports.add(job.id);
    if (done.length && !firstLoad) document.dispatchEvent(new CustomEvent("project:data-changed"));
    firstLoad = false;
    if ([...imports, ...exports].some((job) => ACTIVE.has(job.status))) {
      timer = window.setTimeout(refresh, socketOpen() ? POLL_MS_WITH_SOCKET : POLL_MS_WITHOUT_SOCKET);
    }
  };

  document.addEventListener("project:event", (event) => {
    const name = (event as CustomEvent).detail.name as string;
    if (name !== "import.progress" && name !== "export.progress") return;
    window.clearTimeout(eventTimer);
    eventTimer = window.setTimeout(() => void refresh(), EVENT_DELAY_MS);
  });

  const say = (target: HTMLElement, text: string) => target.replaceChildren(text);

  const importForm = document.getElementById("import-form") as HTMLFormElement | null;
  importForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = $("#import-message", panel);
    if (!input?.files?.length) return say(message, "Choose or drop a .zip first.");
    say(message, "Uploading…");
    try {
      await api(`${base}imports/`, { method: "POST", body: new FormData(importForm) });
      say(message, "");
      importForm.reset();
    } catch (error) {
      say(message, error instanceof ApiError ? error.message : "The upload failed.");
    }
    await refresh();
  });
  const drop = document.getElementById("import-drop");
  const input = document.getElementById("import-file") as HTMLInputElement | null;
  const showChosen = () => {
    const name = document.getElementById("import-file-name");
    if (name && input?.files?.length) name.textContent = input.files[0].name;
  };
  input?.addEventListener("change", showChosen);
  drop?.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop?.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop?.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (input && event.dataTransfer?.files.length) input.files = event.dataTransfer.files;
    showChosen();
  });

  const exportForm = document.getElementById("export-form") as HTMLFormElement | null;
  exportForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = $("#export-message", panel);
    const data = new FormData(exportForm);
    say(message, "Exporting…");
    try {
      await api(`${base}exports/`, {
        method: "POST",
        body: JSON.stringify({ format: data.get("format"), split: Number(data.get("split")) }),
      });
      say(message, "");
    } catch (error) {
      say(message, error instanceof ApiError ? error.message : "The export failed.");
    }
    await refresh();
  });

  void refresh();
}
