// The runs page: pre-flight check of the data, the Train form, and live status of the list.
import { api, ApiError } from "./lib/api";
import { $, el } from "./lib/dom";
import type { RunProgress } from "./lib/events";
import { ACTIVE, followRuns } from "./lib/runevents";

const root = $("#runs");
const runsApi = root.dataset.runsApi!;
const preflightApi = root.dataset.preflightApi!;
const form = document.querySelector<HTMLFormElement>("#train-form");

interface Problem { code: string; message: string; examples?: string[] }

function renderProblems(box: HTMLElement, errors: Problem[], warnings: Problem[], counts?: Record<string, number>) {
  box.replaceChildren();
  if (!errors.length) box.append(el("p", { class: "notice" }, "The data is ready for training."));
  const list = (items: Problem[], cls: string) =>
    el("ul", { class: cls }, ...items.map((p) => el("li", {}, p.message, p.examples?.length ? el("span", { class: "muted" }, ` (${p.examples.join(", ")})`) : "")));
  if (errors.length) box.append(el("p", { class: "error" }, "Fix these before training:"), list(errors, "problems"));
  if (warnings.length) box.append(list(warnings, "warnings"));
  if (counts && Object.keys(counts).length) {
    box.append(el("p", { class: "muted" }, "Examples per label: " + Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ")));
  }
}

function settingValue(name: string): string {
  const input = form?.querySelector<HTMLInputElement | HTMLSelectElement>(`#train-settings [name="${name}"]`);
  if (!input) return "";
  return input instanceof HTMLInputElement && input.type === "checkbox" ? String(input.checked) : input.value;
}

async function checkData() {
  if (!form) return;
  const box = $("#preflight");
  const kind = (form.elements.namedItem("kind") as HTMLSelectElement).value;
  // The check looks for backbone weights of the chosen width, and knows whether scratch is allowed.
  const query = new URLSearchParams({ kind, alpha: settingValue("alpha"), allow_scratch: settingValue("allow_scratch"),
    warm_start: String(baseRun() !== null) });
  try {
    const check = await api(`${preflightApi}?${query}`);
    renderProblems(box, check.errors, check.warnings, check.examples_per_label);
    ($("#train-button") as HTMLButtonElement).disabled = !check.ok;
  } catch (error) {
    box.replaceChildren(el("p", { class: "error" }, (error as Error).message));
  }
}

// The settings block holds one input per hyper-parameter (rendered from the API's serializer, with
// data-numeric saying how to read it); hidden ones do not apply to the chosen kind and are not sent.
function settingInputs(): (HTMLInputElement | HTMLSelectElement)[] {
  return [...document.querySelectorAll<HTMLInputElement | HTMLSelectElement>("#train-settings [name]")].filter(
    (input) => !input.closest<HTMLElement>("[data-setting]")?.hidden,
  );
}

function hyperparameters(): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const input of settingInputs()) {
    if (input instanceof HTMLInputElement && input.type === "checkbox") {
      values[input.name] = input.checked;
      continue;
    }
    const raw = input.value.trim();
    if (raw) values[input.name] = input.dataset.numeric === "int" ? parseInt(raw, 10) : parseFloat(raw);
  }
  if (values.steps) delete values.epochs;
  return values;
}

// Warm start: the earlier runs this one can start from, newest (the default) first, or ImageNet.
interface BaseRun { id: number; finished_at: string | null; metric_name: string; metric: number | null }
const startSelect = document.querySelector<HTMLSelectElement>("#train-base-run");

function fillStart(runs: BaseRun[], chosen: number | null) {
  if (!startSelect) return;
  const text = (r: BaseRun) =>
    `run #${r.id} (${(r.finished_at ?? "").slice(0, 16).replace("T", " ")}` +
    `${r.metric == null ? "" : `, ${r.metric_name === "map50" ? "mAP@0.5" : "accuracy"} ${r.metric.toFixed(3)}`})`;
  const options = runs.map((r) => el("option", { value: String(r.id) }, text(r)));
  startSelect.replaceChildren(...options, el("option", { value: "none" }, "ImageNet (start over)"));
  startSelect.value = chosen == null ? "none" : String(chosen);
}

// Choosing the kind loads that kind's defaults into every setting, and shows only the settings it has;
// it also offers that kind's runs to start from. Choosing where to start loads that start's defaults
// (a warm start keeps its base run's architecture and needs fewer epochs).
async function loadDefaults(baseRun?: string) {
  const settings = $("#train-settings");
  const kind = (form!.elements.namedItem("kind") as HTMLSelectElement).value;
  settings.setAttribute("aria-busy", "true");
  try {
    const query = new URLSearchParams({ kind, ...(baseRun ? { base_run: baseRun } : {}) });
    const defaults = await api<Record<string, unknown>>(`${settings.dataset.defaultsApi}?${query}`);
    if (!baseRun) fillStart(defaults.base_runs as BaseRun[], defaults.base_run as number | null);
    for (const block of settings.querySelectorAll<HTMLElement>("[data-setting]")) {
      const name = block.dataset.setting!;
      block.hidden = block.dataset.only !== undefined && block.dataset.only !== kind;
      const input = block.querySelector<HTMLInputElement | HTMLSelectElement>("[name]")!;
      const value = defaults[name];
      if (input instanceof HTMLInputElement && input.type === "checkbox") input.checked = Boolean(value);
      else input.value = value == null ? "" : String(value);
    }
  } catch (error) {
    $("#train-status").textContent = (error as Error).message;
  } finally {
    settings.removeAttribute("aria-busy");
  }
}

function baseRun(): number | null {
  return startSelect && startSelect.value !== "none" ? Number(startSelect.value) : null;
}

async function train(event: SubmitEvent) {
  event.preventDefault();
  const status = $("#train-status");
  const data = new FormData(form!);
  status.textContent = "Starting…";
  try {
    const run = await api(runsApi, { method: "POST", body: JSON.stringify({ kind: data.get("kind"), hyperparameters: hyperparameters(), base_run: baseRun() }) });
    location.assign(run.urls.page);
  } catch (error) {
    const e = error as ApiError;
    if (e.code === "preflight_failed") {
      renderProblems($("#preflight"), e.body.error.problems, e.body.error.warnings);
      status.textContent = "";
    } else {
      status.textContent = e.message;
    }
  }
}

interface RunRow { id: number; status: string; progress?: RunProgress | null }
// The REST list's runs (RunSerializer): what a new row shows.
interface ListedRun extends RunRow { kind: string; created_by: string | null; created_at: string; urls: { page: string } }
const KIND_NAMES: Record<string, string> = { classification: "Classification", detection: "Object detection" };

/** Show a run's status and progress in its row; false when the list has no row for it. */
function updateRow(run: RunRow): boolean {
  const row = document.querySelector(`tr[data-run-id="${run.id}"]`);
  if (!row) return false;
  const status = row.querySelector<HTMLElement>('[data-field="status"]')!;
  status.className = `status status-${run.status}`;
  status.textContent = run.status.charAt(0).toUpperCase() + run.status.slice(1);  // as the server renders it
  if (run.progress === undefined) return true;  // a partial payload without progress keeps the shown one
  const p = run.progress ?? {};
  const step = Math.min(Number(p.step) || 0, Number(p.total_steps) || 0);  // never past the total
  row.querySelector<HTMLElement>('[data-field="progress"]')!.textContent = p.total_steps ? `${step} / ${p.total_steps}` : p.phase ?? "";
  return true;
}

/** A row as run_list.html renders a new run's (no result yet). */
function insertRow(run: ListedRun): void {
  const body = $("#runs-table tbody");
  body.querySelector("td.empty")?.closest("tr")?.remove();
  const cells = [
    el("td", {}, el("input", { type: "checkbox", name: "run", value: String(run.id), "aria-label": `Compare run ${run.id}` })),
    el("td", {}, el("a", { href: run.urls.page }, `#${run.id}`)),
    el("td", {}, KIND_NAMES[run.kind] ?? run.kind),
    el("td", {}, el("span", { class: `status status-${run.status}`, "data-field": "status" })),
    el("td", { "data-field": "progress" }),
    el("td", {}),
    el("td", {}, run.created_by ?? "—"),
    el("td", {}, run.created_at.slice(0, 16).replace("T", " ")),  // the server's zone, as the page shows it
  ];
  body.prepend(el("tr", { "data-run-id": String(run.id) }, ...cells));
  updateRow(run);
}

// A run this page has no row for (started elsewhere): the list API gives its row (an event may be
// only a tick, without the run's kind or author). Several unknown ids in a burst cost one request.
let listing: Promise<void> | null = null;
function addNewRuns(): void {
  listing ??= api(runsApi)
    .then((page) => {
      const missing = (page.results as ListedRun[]).filter((run) => !updateRow(run));
      for (const run of missing.reverse()) insertRow(run);  // the list is newest first
    })
    .catch(() => undefined)
    .finally(() => (listing = null));
}

async function poll() {
  const active = [...document.querySelectorAll<HTMLElement>("[data-field=status]")].some((s) => ACTIVE.has(s.className.replace(/.*status-/, "")));
  if (!active) return;
  const page = await api(runsApi);
  page.results.forEach(updateRow);
}

if (form) {
  form.addEventListener("submit", train);
  $("#train-kind").addEventListener("change", async () => {
    await loadDefaults();
    await checkData();
  });
  startSelect?.addEventListener("change", async () => {
    await loadDefaults(startSelect.value);
    await checkData();
  });
  for (const name of ["alpha", "allow_scratch"]) {
    form.querySelector(`#train-settings [name="${name}"]`)?.addEventListener("change", checkData);
  }
  checkData();
}
followRuns(root.dataset.projectId!, (run) => {
  if (!updateRow(run)) addNewRuns();
}, poll);
