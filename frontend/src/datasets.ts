// The project page's datasets panel: import a zip in any format, export in any format, follow the jobs.
// It listens to the page's shared project socket (lib/projectsocket.ts; project.ts listens to the
// same one): each `job.progress` of kind import or export is merged into the job the panel holds
// with that id (a new id is a new row). A worker in another process reaches the socket only
// through a shared channel layer (Redis), so while a job is active the panel also polls: slowly
// while the socket is open, briskly while it is not, and at once after a reconnect.
// When polling finds an import finished it tells the page (`project:data-changed`): the grid and
// counts follow (an import's job.progress event tells project.ts directly).

import { api, ApiError } from "./lib/api";
import { $, el } from "./lib/dom";
import { ACTIVE_JOB, type ExportJob, type ImportJob, mergeJob } from "./lib/events";
import { projectSocket } from "./lib/projectsocket";

const POLL_MS_WITHOUT_SOCKET = 1500;
const POLL_MS_WITH_SOCKET = 10000;
const EVENT_DELAY_MS = 200;
const SHOWN = 5;

// The REST shapes; events add `kind`.
type Import = Omit<ImportJob, "kind">;
type Export = Omit<ExportJob, "kind">;
type Job = Import | Export;

const panel = document.getElementById("datasets");
if (panel) {
  const base = panel.dataset.api as string;
  const importList = $("#import-jobs", panel);
  const exportList = $("#export-jobs", panel);
  const socket = projectSocket(panel.closest<HTMLElement>("[data-project-id]")!.dataset.projectId!);
  let imports: Import[] = [];
  let exports: Export[] = [];
  let timer = 0;
  let eventTimer = 0;
  const finishedImports = new Set<number>();
  let firstLoad = true;

  const progress = (job: Job): string => {
    if (job.status === "failed") return `failed: ${job.error}`;
    if (job.status === "succeeded") return "done";
    if (job.total) return `${job.phase} ${job.done} / ${job.total}`;
    return job.phase || job.status;
  };

  const importRow = (job: Import): HTMLElement => {
    const r = job.report || {};
    const summary = job.status === "succeeded"
      ? ` — ${r.images} images, ${r.boxes} boxes, ${r.labels} labels (${r.format})${r.skipped?.length ? `, ${r.skipped.length} skipped` : ""}`
      : "";
    return el("li", { class: `job ${job.status}` }, `${job.file_name || "upload"}: ${progress(job)}${summary}`);
  };

  const exportRow = (job: Export): HTMLElement => {
    const row = el("li", { class: `job ${job.status}` }, `${job.format}: ${progress(job)} `);
    if (job.download_url) row.append(el("a", { href: job.download_url }, "download"));
    return row;
  };

  const render = () => {
    importList.replaceChildren(...imports.slice(0, SHOWN).map(importRow));
    exportList.replaceChildren(...exports.slice(0, SHOWN).map(exportRow));
  };

  /** Poll again later while a job is active: the floor under the socket's events. */
  const pollWhileActive = () => {
    window.clearTimeout(timer);
    if ([...imports, ...exports].some((job) => ACTIVE_JOB.has(job.status))) {
      timer = window.setTimeout(refresh, socket.open ? POLL_MS_WITH_SOCKET : POLL_MS_WITHOUT_SOCKET);
    }
  };

  const refresh = async () => {
    window.clearTimeout(timer);
    [imports, exports] = await Promise.all([api<Import[]>(`${base}imports/`), api<Export[]>(`${base}exports/`)]);
    render();
    const done = imports.filter((job) => job.status === "succeeded" && !finishedImports.has(job.id));
    for (const job of done) finishedImports.add(job.id);
    if (done.length && !firstLoad) document.dispatchEvent(new CustomEvent("project:data-changed"));
    firstLoad = false;
    pollWhileActive();
  };

  const refreshSoon = () => {
    window.clearTimeout(eventTimer);
    eventTimer = window.setTimeout(() => void refresh(), EVENT_DELAY_MS);
  };

  socket.on("job.progress", (payload) => {
    if (payload.kind === "import") {
      const job = mergeJob(imports, payload);
      if (job.status === "succeeded") finishedImports.add(job.id); // project.ts heard this event too
    } else if (payload.kind === "export") {
      // Events carry no download link (it is signed per user): ask the API for it once the zip exists.
      const job = mergeJob(exports, payload, ["download_url"]);
      if (job.status === "succeeded" && !job.download_url) refreshSoon();
    } else {
      return;
    }
    render();
    pollWhileActive();
  });
  socket.onResync(refreshSoon);
  socket.connect();

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
