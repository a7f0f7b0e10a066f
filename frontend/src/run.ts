// One run, live: status, progress bar and ETA, loss chart, log; cancel. Reloads once the run
// ends so the server renders the evaluation, predictions and downloads.
import { api } from "./lib/api";
import { $ } from "./lib/dom";
import { ACTIVE, formatEta, followRuns } from "./lib/runevents";

const root = $("#run");
const runApi = root.dataset.api!;
const runId = Number(root.dataset.runId);
let curve: number[][] = [];

function drawLoss(canvas: HTMLCanvasElement, points: number[][]) {
  const ctx = canvas.getContext("2d")!;
  const { width, height } = canvas;
  const pad = 36;
  ctx.clearRect(0, 0, width, height);
  ctx.strokeStyle = "#e2e5ea";
  ctx.strokeRect(pad, 8, width - pad - 8, height - pad - 8);
  if (points.length < 2) {
    ctx.fillStyle = "#6b7280";
    ctx.fillText("The loss curve appears once training reports steps.", pad + 8, height / 2);
    return;
  }
  const steps = points.map((p) => p[0]);
  const losses = points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...steps), Math.max(...steps)];
  const [y0, y1] = [Math.min(...losses), Math.max(...losses)];
  const x = (s: number) => pad + ((s - x0) / Math.max(x1 - x0, 1)) * (width - pad - 8);
  const y = (l: number) => 8 + (1 - (l - y0) / Math.max(y1 - y0, 1e-9)) * (height - pad - 16);
  ctx.fillStyle = "#6b7280";
  ctx.fillText(y1.toFixed(3), 2, 16);
  ctx.fillText(y0.toFixed(3), 2, height - pad);
  ctx.fillText(`step ${x0}`, pad, height - 12);
  ctx.fillText(`step ${x1}`, width - 80, height - 12);
  ctx.strokeStyle = "#2563eb";
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach(([s, l], i) => (i ? ctx.lineTo(x(s), y(l)) : ctx.moveTo(x(s), y(l))));
  ctx.stroke();
}

function showProgress(status: string, progress: any) {
  const p = progress ?? {};
  const fraction = p.total_steps ? p.step / p.total_steps : status === "succeeded" ? 1 : 0;
  $("#progress-bar").style.width = `${Math.round(fraction * 100)}%`;
  const parts = [p.phase ?? (status === "queued" ? "waiting for a worker" : status)];
  if (p.total_steps) parts.push(`step ${p.step} of ${p.total_steps}`);
  if (p.loss != null) parts.push(`loss ${Number(p.loss).toFixed(4)}`);
  if (ACTIVE.has(status) && p.eta_seconds != null) parts.push(formatEta(p.eta_seconds));
  $("#progress-text").textContent = parts.join(" · ");
}

function ended(status: string) {
  if (!ACTIVE.has(status) && ACTIVE.has(root.dataset.status!)) location.reload();
}

async function refresh() {
  const run = await api(runApi);
  curve = run.loss_curve;
  showProgress(run.status, run.progress);
  drawLoss($("#loss-chart") as HTMLCanvasElement, curve);
  $("#run-log").textContent = run.log;
  ended(run.status);
}

for (const bar of document.querySelectorAll<HTMLElement>("[data-fraction]")) {
  bar.style.width = `${Math.max(0, Math.min(1, Number(bar.dataset.fraction))) * 100}%`;
}

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
if (ACTIVE.has(root.dataset.status!)) {
  followRuns(root.dataset.projectId!, ({ event, payload }) => {
    if (payload.id !== runId) return;
    if (event === "run.progress") {
      showProgress("running", payload.progress);
      if (payload.point) {
        curve.push(payload.point);
        drawLoss($("#loss-chart") as HTMLCanvasElement, curve);
      }
    } else {
      ended(payload.status);
    }
  }, refresh);
}
