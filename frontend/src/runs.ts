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

async function checkData() {
  if (!form) return;
  const box = $("#preflight");
  const kind = (form.elements.namedItem("kind") as HTMLSelectElement).value;
  try {
    const check = await api(`${preflightApi}?kind=${encodeURIComponent(kind)}`);
    renderProblems(box, check.errors, check.warnings, check.examples_per_label);
    ($("#train-button") as HTMLButtonElement).disabled = !check.ok;
  } catch (error) {
    box.replaceChildren(el("p", { class: "error" }, (error as Error).message));
  }
}

function hyperparameters(data: FormData): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const name of ["epochs", "steps", "batch_size", "input_size", "seed", "fine_tune_epochs"]) {
    const raw = String(data.get(name) ?? "").trim();
    if (raw) values[name] = parseInt(raw, 10);
  }
  for (const name of ["learning_rate", "alpha", "validation_fraction"]) {
    const raw = String(data.get(name) ?? "").trim();
    if (raw) values[name] = parseFloat(raw);
  }
  if (values.steps) delete values.epochs;
  values.augment = data.get("augment") === "on";
  values.allow_scratch = data.get("allow_scratch") === "on";
  return values;
}

async function train(event: SubmitEvent) {
  event.preventDefault();
  const status = $("#train-status");
  const data = new FormData(form!);
  status.textContent = "Starting…";
  try {
    const run = await api(runsApi, { method: "POST", body: JSON.stringify({ kind: data.get("kind"), hyperparameters: hyperparameters(data) }) });
    location.assign(run.urls.page);
  } catch (error) {
    const e = error as ApiError;
    if (e.code === "preflight_failed") {
      renderProblems($("#preflight"), e.body.error.problems, e.body.error.warnings);
      status.textContent = "";
    } else if (e.code === "invalid") {
      status.textContent = `${e.message} ${JSON.stringify(e.body.error.details)}`;
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
  status.textContent = run.status;
  const p = run.progress ?? {};
  row.querySelector<HTMLElement>('[data-field="progress"]')!.textContent = p.total_steps ? `${p.step} / ${p.total_steps}` : p.phase ?? "";
}

async function poll() {
  const active = [...document.querySelectorAll<HTMLElement>("[data-field=status]")].some((s) => ACTIVE.has(s.className.replace(/.*status-/, "")));
  if (!active) return;
  const page = await api(runsApi);
  page.results.forEach(updateRow);
}

if (form) {
  form.addEventListener("submit", train);
  $("#train-kind").addEventListener("change", checkData);
  checkData();
}
followRuns(root.dataset.projectId!, (e) => updateRow(e.payload), poll);
