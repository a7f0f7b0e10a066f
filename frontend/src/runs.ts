// The runs page: pre-flight check of the data, the Train form, and live status of the list.
import { api, ApiError } from "./lib/api";
import { $, el } from "./lib/dom";
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
      block.hidden = kind !== "classification" && block.hasAttribute("data-classifier-only");
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

function updateRow(run: any) {
  const row = document.querySelector(`tr[data-run-id="${run.id}"]`);
  if (!row) return;
  const status = row.querySelector<HTMLElement>('[data-field="status"]')!;
  status.className = `status status-${run.status}`;
  status.textContent = run.status.charAt(0).toUpperCase() + run.status.slice(1);  // as the server renders it
  const p = run.progress ?? {};
  const step = Math.min(Number(p.step) || 0, Number(p.total_steps) || 0);  // never past the total
  row.querySelector<HTMLElement>('[data-field="progress"]')!.textContent = p.total_steps ? `${step} / ${p.total_steps}` : p.phase ?? "";
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
followRuns(root.dataset.projectId!, (e) => updateRow(e.payload), poll);
