// Bring your own bucket: the "new project from a bucket" form and a project's Bucket page.
// Test connection shows each check plainly; Sync shows live progress; credentials are sent, never shown.
// The sync's progress comes as `job.progress` events of kind "sync" over the page's project socket
// (lib/projectsocket.ts), merged into the sync shown; while a sync runs the panel also polls (a
// worker in another process reaches the socket only through a shared channel layer).

import { api, ApiError, invalidFields } from "./lib/api";
import { $, el } from "./lib/dom";
import { ACTIVE_JOB, type SyncJob as SyncJobEvent, mergeJob } from "./lib/events";
import { projectSocket } from "./lib/projectsocket";

interface Check { name: string; status: "ok" | "warning" | "error"; message: string }
// The REST shape; events add `kind`.
type SyncJob = Omit<SyncJobEvent, "kind">;
interface FileState { dirty: boolean; written_at: string | null; error: string }

const form = $("#bucket-form") as HTMLFormElement;
const checks = $("#checks");
const formError = $("#form-error");
const POLL_MS_WITHOUT_SOCKET = 1000;
const POLL_MS_WITH_SOCKET = 10000;

function connectionBody(): Record<string, unknown> {
  const data = new FormData(form);
  const body: Record<string, unknown> = {};
  for (const name of ["endpoint_url", "region", "bucket", "prefix", "addressing_style", "access_key_id", "secret_access_key"]) {
    body[name] = String(data.get(name) ?? "").trim();
  }
  body.secret_access_key = String(data.get("secret_access_key") ?? "");
  body.sync_interval_minutes = Number(data.get("sync_interval_minutes") ?? 0);
  return body;
}

function showError(error: unknown): void {
  const message = error instanceof ApiError ? error.message : String(error);
  const single = error instanceof ApiError ? error.body?.error?.field : undefined;  // validation messages name theirs
  formError.textContent = single ? `${single.replace(/_/g, " ")}: ${message}` : message;
  formError.hidden = false;
  const [field] = error instanceof ApiError ? invalidFields(error) : [];
  if (field) (form.elements.namedItem(field) as HTMLInputElement | null)?.focus();
}

function renderChecks(result: { ok: boolean; checks: Check[] }): void {
  const icon = { ok: "✓", warning: "!", error: "✗" };
  checks.replaceChildren(
    ...result.checks.map((c) => el("li", { class: `check-${c.status}` }, `${icon[c.status]} `, c.message)),
    el("li", { class: result.ok ? "notice" : "error" }, result.ok ? "The connection works." : "The connection does not work yet."),
  );
}

async function testConnection(): Promise<void> {
  formError.hidden = true;
  checks.replaceChildren(el("li", { class: "muted" }, "Testing…"));
  try {
    renderChecks(await api(form.dataset.testApi!, { method: "POST", body: JSON.stringify(connectionBody()) }));
  } catch (error) {
    checks.replaceChildren();
    showError(error);
  }
}

async function submit(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  formError.hidden = true;
  const button = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
  button.disabled = true;
  try {
    if (form.dataset.mode === "create") {
      const data = new FormData(form);
      const body = { name: data.get("name"), type: data.get("type"), storage: connectionBody() };
      const project = await api(form.dataset.projectsApi!, { method: "POST", body: JSON.stringify(body) });
      window.location.href = `/projects/${project.id}/storage/`;
      return;
    }
    await api(form.dataset.bucketApi!, { method: "PUT", body: JSON.stringify(connectionBody()) });
    window.location.reload();
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

function describe(job: SyncJob): string {
  const counts = `${job.listed} listed, ${job.added} added, ${job.replaced} replaced, ${job.missing} missing, ` +
    `${job.restored} back, ${job.skipped} skipped, ${job.annotations_imported} annotated from _annotations.json`;
  if (job.status === "failed") return `Sync failed: ${job.error}`;
  if (job.status === "succeeded") return `Last sync finished ${new Date(job.finished_at!).toLocaleString()}: ${counts}.`;
  return `Sync ${job.status}: ${counts}…`;
}

function setupSyncPanel(panel: HTMLElement): void {
  const syncApi = panel.dataset.syncApi!;
  const fileApi = panel.dataset.fileApi!;
  const state = $("#sync-state");
  const bar = $("#sync-progress") as HTMLProgressElement;
  const problems = $("#sync-problems");
  const syncButton = $("#sync-button") as HTMLButtonElement;
  const socket = projectSocket(panel.dataset.projectId!);
  let timer = 0;
  let shown: SyncJob | undefined;

  function show(job: SyncJob | undefined): void {
    shown = job;
    const running = job !== undefined && ACTIVE_JOB.has(job.status);
    state.textContent = job ? describe(job) : "Never synced.";
    state.className = job?.status === "failed" ? "error" : "";
    bar.hidden = !running;
    syncButton.disabled = running;
    problems.replaceChildren(...(job?.problems ?? []).map((p) => el("li", {}, el("code", {}, p.key), " ", p.message)));
    window.clearTimeout(timer);
    if (running) timer = window.setTimeout(refresh, socket.open ? POLL_MS_WITH_SOCKET : POLL_MS_WITHOUT_SOCKET);
  }

  // The panel shows the latest sync: events of an older one are not news; a newer id is a new sync.
  socket.on("job.progress", (payload) => {
    if (payload.kind !== "sync" || (shown && payload.id < shown.id)) return;
    show(mergeJob(shown?.id === payload.id ? [shown] : [], payload));
  });
  socket.onResync(() => void refresh());

  async function refresh(): Promise<void> {
    const jobs = await api<SyncJob[]>(syncApi);
    show(jobs[0]);
  }

  async function refreshFile(): Promise<void> {
    const file = await api<FileState>(fileApi);
    const written = file.written_at ? `written ${new Date(file.written_at).toLocaleString()}` : "not written yet";
    $("#file-state").textContent = `${file.dirty ? "Changes are waiting to be written" : "Up to date"} (${written}).` +
      (file.error ? ` Last attempt failed: ${file.error}` : "");
  }

  syncButton.addEventListener("click", async () => {
    try {
      show(await api<SyncJob>(syncApi, { method: "POST" }));
    } catch (error) {
      if (error instanceof ApiError && error.body?.error?.job) show(error.body.error.job);
      else state.textContent = (error as Error).message;
    }
  });
  $("#write-button").addEventListener("click", async () => {
    try {
      await api(fileApi, { method: "POST" });
    } catch (error) {
      $("#file-state").textContent = (error as Error).message;
      return;
    }
    await refreshFile();
  });
  if (panel.dataset.connected === "true") {
    socket.connect();
    void refresh();
    void refreshFile();
  }
}

$("#test-button").addEventListener("click", () => void testConnection());
form.addEventListener("submit", (event) => void submit(event));
const panel = document.querySelector<HTMLElement>("#sync-panel");
if (panel) setupSyncPanel(panel);
