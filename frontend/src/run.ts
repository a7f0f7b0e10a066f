// One run, live: status badge, progress bar and ETA, learning curves (loss and the validation
// metric against step), log; cancel. Once finished: per-class AP bars, precision-recall curves
// and the confusion matrix as a heat map, and — once its model has suggested labels in the
// project (assist) — how the team took those suggestions. Reloads once the run ends so the server
// renders the evaluation, predictions and downloads.
//
// Charts are Chart.js on canvases (the CSP allows no inline styles or scripts; Chart.js sizes its
// canvas through the CSSOM, which the CSP permits). Every chart has a caption, and a text summary
// as its accessible name; the figures themselves are in tables next to it.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartDataset,
} from "chart.js";
import { api } from "./lib/api";
import { $ } from "./lib/dom";
import { ACTIVE, formatEta, followRuns } from "./lib/runevents";

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip);
Chart.defaults.animation = false; // live updates redraw at once; nothing to wait for in tests either
Chart.defaults.maintainAspectRatio = false;

type Point = [number, number];
type Metrics = Record<string, any>;

const root = $("#run");
const runApi = root.dataset.api!;
const runId = Number(root.dataset.runId);
const metricName = root.dataset.metricName || "validation metric";
const STATUS_NAMES: Record<string, string> = {
  queued: "Queued", running: "Running", succeeded: "Succeeded", failed: "Failed", cancelled: "Cancelled",
};
const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];
const colour = (i: number) => PALETTE[i % PALETTE.length];

let loss: Point[] = [];
let evals: Point[] = [];
let progress: Record<string, any> = {};

// --- Learning curves -------------------------------------------------------------------------

const curveCanvas = document.querySelector<HTMLCanvasElement>("#curve-chart");
const curves = curveCanvas
  ? new Chart<"line", { x: number; y: number }[]>(curveCanvas, {
      type: "line",
      data: {
        datasets: [
          { label: "training loss", data: [], yAxisID: "loss", borderColor: colour(0), backgroundColor: colour(0), pointRadius: 0, borderWidth: 2 },
          { label: metricName, data: [], yAxisID: "metric", borderColor: colour(2), backgroundColor: colour(2), pointRadius: 3, borderWidth: 2 },
          { label: "best checkpoint", data: [], yAxisID: "metric", borderColor: colour(4), backgroundColor: colour(4), pointRadius: 7, pointStyle: "star", showLine: false },
        ],
      },
      options: {
        parsing: false,
        normalized: true,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: { type: "linear", title: { display: true, text: "step" }, ticks: { precision: 0 } },
          loss: { type: "linear", position: "left", title: { display: true, text: "loss" } },
          metric: { type: "linear", position: "right", min: 0, max: 1, title: { display: true, text: metricName }, grid: { drawOnChartArea: false } },
        },
      },
    })
  : null;

function best(): Point | null {
  return evals.reduce<Point | null>((top, p) => (top === null || p[1] > top[1] ? p : top), null);
}

function drawCurves() {
  if (!curves) return;
  curves.data.datasets[0].data = loss.map(([x, y]) => ({ x, y }));
  curves.data.datasets[1].data = evals.map(([x, y]) => ({ x, y }));
  const top = best();
  curves.data.datasets[2].data = top ? [{ x: top[0], y: top[1] }] : [];
  curves.update("none");
  const summary = curveSummary();
  $("#curve-summary").textContent = summary;
  curveCanvas!.setAttribute("aria-label", `Learning curves. ${summary}`);
}

function curveSummary(): string {
  if (!loss.length && !evals.length) {
    return ACTIVE.has(root.dataset.status!) ? "The curves appear once training reports steps." : "This run reported no steps.";
  }
  const parts: string[] = [];
  if (loss.length) {
    const [step, last] = loss[loss.length - 1];
    parts.push(`Loss ${last.toFixed(4)} at step ${step} (from ${loss[0][1].toFixed(4)} at step ${loss[0][0]}).`);
  }
  const top = best();
  if (top) {
    const [step, value] = evals[evals.length - 1];
    parts.push(`Validation ${metricName} ${value.toFixed(3)} at step ${step}; best ${top[1].toFixed(3)} at step ${top[0]}.`);
  }
  return parts.join(" ");
}

function addRow(table: HTMLTableSectionElement, cells: string[]) {
  const row = table.insertRow();
  for (const text of cells) row.insertCell().textContent = text;
}

function drawEvalTable() {
  const body = document.querySelector<HTMLTableSectionElement>("#eval-table tbody");
  if (!body) return;
  body.replaceChildren();
  for (const [step, value] of evals) addRow(body, [String(step), value.toFixed(4)]);
}

// Points arrive by websocket (each progress event re-sends the latest) and by polling (the whole
// curve): a point is new only past the last step we have.
function addPoint(curve: Point[], point: Point | null | undefined): boolean {
  if (!point || (curve.length && point[0] <= curve[curve.length - 1][0])) return false;
  curve.push([point[0], point[1]]);
  return true;
}

// --- Status and progress ---------------------------------------------------------------------

function showStatus(status: string) {
  const badge = $("#run-status");
  badge.className = `status status-${status}`;
  badge.textContent = STATUS_NAMES[status] ?? status;
  document.querySelector("#cancel-button")?.toggleAttribute("hidden", !ACTIVE.has(status));
}

function showProgress(status: string, report: Record<string, any> | null) {
  progress = report ?? {};
  const p = progress;
  const total = Number(p.total_steps) || 0;
  // A phase may report a step past its estimated total (its last, partial epoch): never show that.
  const step = total ? Math.min(Number(p.step) || 0, total) : 0;
  const fraction = total ? step / total : status === "succeeded" ? 1 : 0;
  const bar = $("#progress-bar");
  bar.style.width = `${Math.round(fraction * 100)}%`;
  bar.parentElement!.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
  const parts = [p.phase ?? (status === "queued" ? "waiting for a worker" : status)];
  if (total) parts.push(`step ${step} of ${total}`);
  if (p.epoch != null && p.total_epochs) parts.push(`epoch ${p.epoch} of ${p.total_epochs}`);
  if (p.loss != null) parts.push(`loss ${Number(p.loss).toFixed(4)}`);
  if (p.val_metric != null) parts.push(`${metricName} ${Number(p.val_metric).toFixed(3)}`);
  if (ACTIVE.has(status) && p.eta_seconds != null) parts.push(formatEta(p.eta_seconds));
  $("#progress-text").textContent = parts.join(" · ");
}

function ended(status: string) {
  if (!ACTIVE.has(status) && ACTIVE.has(root.dataset.status!)) location.reload();
}

async function refresh() {
  const run = await api(runApi);
  showStatus(run.status);
  showProgress(run.status, run.progress);
  loss = (run.loss_curve ?? []).map((p: Point) => [p[0], p[1]]);
  evals = (run.eval_curve ?? []).map((p: Point) => [p[0], p[1]]);
  drawCurves();
  drawEvalTable();
  $("#run-log").textContent = run.log;
  drawEvaluation(run.metrics ?? {});
  ended(run.status);
}

// --- Evaluation: per class, precision-recall, confusion --------------------------------------

let evaluationDrawn = false;

function drawEvaluation(metrics: Metrics) {
  if (evaluationDrawn) return;
  const labels: string[] = metrics.labels ?? [];
  const ap: Record<string, number | null> = metrics.ap_per_class ?? {};
  const accuracy: Record<string, number | null> = metrics.per_class_accuracy ?? {};
  const perClass = document.querySelector<HTMLCanvasElement>("#per-class-chart");
  if (perClass && labels.length) {
    evaluationDrawn = true;
    const datasets: ChartDataset<"bar">[] = [];
    const bars = { maxBarThickness: 22, categoryPercentage: 0.7 };
    if (Object.keys(ap).length) datasets.push({ label: "AP", data: labels.map((l) => ap[l] ?? 0), backgroundColor: colour(0), ...bars });
    if (Object.keys(accuracy).length) datasets.push({ label: "accuracy", data: labels.map((l) => accuracy[l] ?? 0), backgroundColor: colour(2), ...bars });
    new Chart(perClass, {
      type: "bar",
      data: { labels, datasets },
      options: { indexAxis: "y", scales: { x: { min: 0, max: 1 } }, plugins: { legend: { display: datasets.length > 1 } } },
    });
  }
  const pr = document.querySelector<HTMLCanvasElement>("#pr-chart");
  const curvesByLabel: Record<string, { precision: number[]; recall: number[] }> = metrics.pr_curves ?? {};
  if (pr && Object.keys(curvesByLabel).length) {
    evaluationDrawn = true;
    const datasets = Object.entries(curvesByLabel).map(([label, c], i) => ({
      label: ap[label] != null ? `${label} (AP ${Number(ap[label]).toFixed(3)})` : label,
      data: c.recall.map((x, k) => ({ x, y: c.precision[k] })),
      borderColor: colour(i),
      backgroundColor: colour(i),
      pointRadius: 0,
      borderWidth: 2,
    }));
    new Chart(pr, {
      type: "line",
      data: { datasets },
      options: {
        parsing: false,
        scales: {
          x: { type: "linear", min: 0, max: 1, title: { display: true, text: "recall" } },
          y: { type: "linear", min: 0, max: 1, title: { display: true, text: "precision" } },
        },
      },
    });
  }
  heatMap();
}

// The confusion matrix stays a table (its own data table); each cell is shaded by its share of
// the true class's row, so the diagonal reads at a glance.
function heatMap() {
  for (const row of document.querySelectorAll<HTMLTableRowElement>("table.matrix tbody tr")) {
    const cells = [...row.querySelectorAll<HTMLTableCellElement>("td")];
    const total = cells.reduce((sum, td) => sum + Number(td.textContent), 0);
    for (const td of cells) {
      const share = total ? Number(td.textContent) / total : 0;
      td.style.backgroundColor = `rgba(37, 99, 235, ${(share * 0.9).toFixed(3)})`;
      td.classList.toggle("dark", share > 0.5);
      td.title = `${Math.round(share * 100)} % of this row`;
    }
  }
}

// --- Suggestions: is the model saving the team work? ------------------------------------------

interface SuggestionStats {
  accepted: number;
  edited: number;
  rejected: number;
  pending: number;
  added: number;
}

const percent = (part: number, whole: number) => `${Math.round((100 * part) / whole)} %`;

/** "72 % of the suggestions decided were accepted unchanged": the card's one-line reading. */
function suggestionReading(stats: SuggestionStats, detector: boolean): string {
  const decided = stats.accepted + stats.edited + stats.rejected;
  const total = decided + stats.pending;
  const added = detector && stats.added
    ? ` People drew ${stats.added} box${stats.added === 1 ? "" : "es"} that no suggestion proposed.`
    : "";
  if (!decided) return `None of its ${total} suggestion${total === 1 ? "" : "s"} has been decided yet.${added}`;
  const edited = stats.edited ? `, ${percent(stats.edited, decided)} after an edit` : "";
  return `${percent(stats.accepted, decided)} of the ${decided} suggestion${decided === 1 ? "" : "s"} decided were accepted unchanged${edited}; ${percent(stats.rejected, decided)} rejected.${added}`;
}

/** The Suggestions card, shown once the run has made any. */
async function showSuggestionStats(card: HTMLElement): Promise<void> {
  const stats = await api<SuggestionStats>(card.dataset.api!);
  const total = stats.accepted + stats.edited + stats.rejected + stats.pending;
  if (!total) return;
  for (const cell of card.querySelectorAll<HTMLElement>("[data-stat]")) {
    cell.textContent = String(stats[cell.dataset.stat as keyof SuggestionStats] ?? 0);
  }
  for (const cell of card.querySelectorAll<HTMLElement>("[data-share]")) {
    cell.textContent = percent(stats[cell.dataset.share as keyof SuggestionStats] ?? 0, total);
  }
  $("#suggestion-reading", card).textContent = suggestionReading(stats, card.dataset.kind === "detection");
  card.hidden = false;
}

// --- Wiring ----------------------------------------------------------------------------------

document.querySelector("#cancel-button")?.addEventListener("click", async (event) => {
  const button = event.currentTarget as HTMLButtonElement;
  button.disabled = true;
  try {
    await api(root.dataset.cancelApi!, { method: "POST" });
    location.reload();
  } catch (error) {
    button.disabled = false;
    $("#progress-text").textContent = (error as Error).message;
  }
});

refresh();
const statsCard = document.querySelector<HTMLElement>("#suggestion-stats");
if (statsCard) void showSuggestionStats(statsCard).catch(() => undefined);
if (ACTIVE.has(root.dataset.status!)) {
  // Each payload is this run, whole or a tick: status always, progress and the newest points when sent.
  followRuns(root.dataset.projectId!, (run) => {
    if (run.id !== runId) return;
    showStatus(run.status);
    if (run.progress !== undefined) showProgress(run.status, run.progress);
    const newLoss = addPoint(loss, run.point);
    const newEval = addPoint(evals, run.eval_point);
    if (newEval) drawEvalTable();
    if (newLoss || newEval) drawCurves();
    ended(run.status);
  }, refresh);
}
