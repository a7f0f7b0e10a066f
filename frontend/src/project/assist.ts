// The project page's Assist panel: which run's model suggests labels (the pinned run, else the
// latest succeeded run of the project's kind), its headline metric and default threshold, what it
// has predicted so far, and — for owners and admins — pinning another run, auto-suggest, starting
// a prediction, and bulk auto-labelling with a preview of what it would write.
//
// State comes from GET assist/ (assist/services.py `assist_state`), the newest jobs from GET
// predictions/ and auto-label/. Jobs then follow the page's shared project socket (`job.progress`
// of kinds "predict" and "autolabel", merged by id like every job), with polling under it while a
// job is active, as the datasets panel does: a worker elsewhere reaches the socket only through a
// shared channel layer. Viewers, annotators and reviewers get the same information without the
// controls (the API would refuse them: Action.PREDICT).
//
// The counts it reads also fill every `[data-assist-count]` on the page (the grid's Auto-labelled
// filter shows its number that way).

import { api, ApiError, type Page } from "../lib/api";
import { $, el } from "../lib/dom";
import { ACTIVE_JOB, type AutoLabelJob, FINISHED_JOB, mergeJob, type PredictionJob } from "../lib/events";
import { projectSocket } from "../lib/projectsocket";

const POLL_MS_WITHOUT_SOCKET = 1500;
const POLL_MS_WITH_SOCKET = 10000;
// Predictions and saves come in bursts (a batch of 32 images is one event each): one refresh per burst.
const REFRESH_DELAY_MS = 500;
const JOBS_SHOWN = 3;

export interface AssistRun {
  id: number;
  kind: "detection" | "classification";
  created_at: string;
  /** For people: "mAP@0.5" or "accuracy". */
  metric_name: string;
  score: number | null;
  metrics: { suggestion_threshold?: { score: number; f1?: number; precision?: number; recall?: number } };
  url: string;
}

export interface AssistCounts {
  predicted: number;
  unpredicted: number;
  pending_suggestions: number;
  auto_labelled: number;
}

/** GET projects/{id}/assist/ */
export interface AssistState {
  run: AssistRun | null;
  pinned: boolean;
  auto_suggest: boolean;
  threshold: number;
  counts: AssistCounts;
  active_prediction: PredictionJob | null;
}

/** GET projects/{id}/auto-label/preview/?threshold= */
interface Preview {
  threshold: number;
  images: number;
  per_label: Record<string, number>;
}

/** The succeeded runs offered for pinning (the fields of RunSerializer this panel reads). */
interface RunRow {
  id: number;
  kind: string;
  created_at: string;
  metrics: Record<string, any>;
}

// REST shapes; events add `kind` (always "predict" / "autolabel").
type Prediction = Omit<PredictionJob, "kind">;
type AutoLabel = Omit<AutoLabelJob, "kind">;

const METRIC_KEYS: Record<string, string> = { detection: "map50", classification: "accuracy" };

const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;
const fixed = (value: number | null | undefined, digits = 2) => (value == null ? "—" : Number(value).toFixed(digits));

function perLabelText(perLabel: Record<string, number>): string {
  return Object.entries(perLabel)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name, n]) => `${name} ${n}`)
    .join(" · ");
}

export class AssistPanel {
  private readonly canPredict: boolean;
  private readonly classification: boolean;
  private readonly socket;
  private state: AssistState | null = null;
  private predictions: Prediction[] = [];
  private autolabels: AutoLabel[] = [];
  private runsLoaded = false;
  private pollTimer = 0;
  private refreshTimer = 0;
  private preview: Preview | null = null;

  constructor(
    private readonly panel: HTMLElement,
    private readonly apiBase: string,
    projectId: string,
    projectType: string,
  ) {
    this.canPredict = panel.dataset.canPredict === "true";
    this.classification = projectType === "classification";
    this.socket = projectSocket(projectId);
  }

  start(): void {
    this.wire();
    this.socket.on("job.progress", (payload) => {
      if (payload.kind === "predict") {
        const job = mergeJob(this.predictions, payload);
        if (FINISHED_JOB.has(job.status)) this.refreshSoon();
      } else if (payload.kind === "autolabel") {
        const job = mergeJob(this.autolabels, payload);
        if (FINISHED_JOB.has(job.status)) this.refreshSoon();
      } else {
        return;
      }
      this.renderJobs();
      this.pollWhileActive();
    });
    this.socket.on("suggestions.changed", () => this.refreshSoon());
    // A person's save clears an image's auto-labelled mark; an auto-label's saves set it.
    this.socket.on("annotations.changed", () => this.refreshSoon());
    this.socket.on("image.created", () => this.refreshSoon());
    this.socket.on("image.deleted", () => this.refreshSoon());
    this.socket.onResync(() => this.refreshSoon());
    this.socket.connect();
    void this.refresh().catch((error) => this.failed(error, "The assist model could not be read; reload to try again."));
  }

  // --- reading ------------------------------------------------------------------------------

  private async refresh(): Promise<void> {
    window.clearTimeout(this.pollTimer);
    const [state, predictions, autolabels] = await Promise.all([
      api<AssistState>(`${this.apiBase}assist/`),
      api<Prediction[]>(`${this.apiBase}predictions/`),
      api<AutoLabel[]>(`${this.apiBase}auto-label/`),
    ]);
    this.state = state;
    this.predictions = predictions;
    this.autolabels = autolabels;
    this.render();
    if (state.run && this.canPredict && !this.runsLoaded) await this.loadRuns(state.run.kind);
    this.pollWhileActive();
  }

  private refreshSoon(): void {
    window.clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(() => void this.refresh().catch(() => undefined), REFRESH_DELAY_MS);
  }

  /** Poll again later while a job is active: the floor under the socket's events. */
  private pollWhileActive(): void {
    window.clearTimeout(this.pollTimer);
    if ([...this.predictions, ...this.autolabels].some((job) => ACTIVE_JOB.has(job.status))) {
      const wait = this.socket.open ? POLL_MS_WITH_SOCKET : POLL_MS_WITHOUT_SOCKET;
      this.pollTimer = window.setTimeout(() => void this.refresh().catch(() => this.pollWhileActive()), wait);
    }
  }

  private async loadRuns(kind: string): Promise<void> {
    const page = await api<Page<RunRow>>(`${this.apiBase}runs/?status=succeeded&kind=${encodeURIComponent(kind)}`);
    const select = $("#assist-pin", this.panel) as HTMLSelectElement;
    const metric = METRIC_KEYS[kind];
    select.replaceChildren(
      el("option", { value: "" }, "Latest succeeded run"),
      ...page.results.map((run) => {
        const score = run.metrics?.[metric];
        const figure = typeof score === "number" ? ` · ${metric === "map50" ? "mAP@0.5" : metric} ${score.toFixed(3)}` : "";
        return el("option", { value: String(run.id) }, `Run #${run.id}${figure} · ${run.created_at.slice(0, 10)}`);
      }),
    );
    this.runsLoaded = true;
    this.showPin();
  }

  // --- drawing ------------------------------------------------------------------------------

  private render(): void {
    const state = this.state!;
    const run = state.run;
    for (const node of document.querySelectorAll<HTMLElement>("[data-assist-count]")) {
      node.textContent = String(state.counts[node.dataset.assistCount as keyof AssistCounts] ?? 0);
    }
    $("#assist-counts", this.panel).hidden = run === null && state.counts.auto_labelled === 0;
    $("#assist-summary", this.panel).textContent = run
      ? `run #${run.id} · ${run.metric_name} ${fixed(run.score, 3)} · ${plural(state.counts.pending_suggestions, "pending suggestion")}`
      : "none yet";
    $("#assist-model", this.panel).replaceChildren(...(run ? this.describeRun(run, state) : this.noModel()));
    const controls = this.panel.querySelector<HTMLElement>("#assist-controls");
    if (controls) controls.hidden = run === null;
    const form = this.panel.querySelector<HTMLFormElement>("#autolabel-form");
    if (form) form.hidden = run === null;
    const threshold = this.panel.querySelector<HTMLInputElement>("#autolabel-threshold");
    if (threshold && !threshold.value) threshold.value = state.threshold.toFixed(2);
    const auto = this.panel.querySelector<HTMLInputElement>("#assist-auto");
    if (auto) auto.checked = state.auto_suggest;
    this.showPin();
    this.renderJobs();
  }

  private describeRun(run: AssistRun, state: AssistState): (Node | string)[] {
    const chosen = state.pinned ? "pinned by an owner or admin" : "the latest succeeded run";
    const best = run.metrics.suggestion_threshold;
    const threshold = best
      ? `default threshold ${state.threshold.toFixed(2)}, its best F1 on the validation images`
      : `default threshold ${state.threshold.toFixed(2)}`;
    return [
      "Suggestions come from ",
      el("a", { href: run.url, id: "assist-run-link" }, `run #${run.id}`),
      ` (${run.kind}, ${run.metric_name} ${fixed(run.score, 3)}; ${threshold}), ${chosen}.`,
    ];
  }

  private noModel(): (Node | string)[] {
    const runs = this.panel.dataset.runsUrl;
    const kind = this.classification ? "classification" : "detection";
    return [
      `No assist model yet: once a ${kind} run has succeeded on the `,
      runs ? el("a", { href: runs }, "Training") : "Training",
      " tab, its model suggests labels for the images here.",
    ];
  }

  private showPin(): void {
    const select = this.panel.querySelector<HTMLSelectElement>("#assist-pin");
    if (!select || !this.state) return;
    select.value = this.state.pinned && this.state.run ? String(this.state.run.id) : "";
  }

  private renderJobs(): void {
    $("#assist-jobs", this.panel).replaceChildren(...this.predictions.slice(0, JOBS_SHOWN).map((job) => this.predictionRow(job)));
    const autolabels = this.panel.querySelector("#autolabel-jobs");
    autolabels?.replaceChildren(...this.autolabels.slice(0, JOBS_SHOWN).map((job) => this.autolabelRow(job)));
    const busy = this.predictions.some((job) => !job.auto && ACTIVE_JOB.has(job.status));
    for (const id of ["#assist-predict-unlabelled", "#assist-predict-all"]) {
      const button = this.panel.querySelector<HTMLButtonElement>(id);
      if (button) button.disabled = busy;
    }
  }

  private predictionRow(job: Prediction): HTMLElement {
    const who = job.auto ? "Auto-suggest" : "Prediction";
    const done = `${job.images_done ?? 0} / ${job.images_total ?? 0} images`;
    const found = plural(job.suggestions_created ?? 0, "suggestion");
    const failed = job.images_failed ? `, ${plural(job.images_failed, "image")} unreadable` : "";
    const dropped = job.dropped_labels?.length ? `; labels deleted since the run: ${job.dropped_labels.join(", ")}` : "";
    let text: string;
    if (job.status === "queued") text = `${who} queued: waiting for a worker`;
    else if (job.status === "running") text = `${who} running: ${done} · ${found}${failed}`;
    else if (job.status === "succeeded") {
      const speed = job.images_per_second ? ` (${job.images_per_second.toFixed(1)} images/s)` : "";
      text = `${who} done: ${plural(job.images_done ?? 0, "image")} predicted${speed}, ${found}${failed}${dropped}`;
    } else if (job.status === "cancelled") text = `${who} cancelled after ${done}`;
    else text = `${who} failed: ${job.error || job.error_code || "unknown error"}`;
    const row = el("li", { class: `job ${job.status}`, "data-job-id": String(job.id) }, text);
    if (job.status === "running" && job.images_total) {
      row.prepend(el("progress", { max: String(job.images_total), value: String(job.images_done ?? 0) }), " ");
    }
    if (this.canPredict && ACTIVE_JOB.has(job.status)) {
      const cancel = el("button", { type: "button", class: "button" }, "Cancel");
      cancel.addEventListener("click", () => void this.cancelPrediction(job.id, cancel));
      row.append(" ", cancel);
    }
    return row;
  }

  private autolabelRow(job: AutoLabel): HTMLElement {
    const threshold = Number(job.threshold ?? 0).toFixed(2);
    let text: string;
    if (job.status === "queued") text = `Auto-label at ≥ ${threshold} queued: waiting for a worker`;
    else if (job.status === "running") text = `Auto-labelling: ${job.images_done ?? 0} / ${job.images_total ?? 0} images`;
    else if (job.status === "succeeded") {
      const what = this.classification ? "" : `, ${plural(job.boxes_created ?? 0, "box", "boxes")}`;
      const per = perLabelText(job.per_label ?? {});
      text = `Auto-labelled ${plural(job.images_labelled ?? 0, "image")}${what}${per ? ` (${per})` : ""}.`;
    } else if (job.status === "cancelled") text = "Auto-label cancelled.";
    else text = `Auto-label failed: ${job.error || job.error_code || "unknown error"}`;
    const row = el("li", { class: `job ${job.status}`, "data-job-id": String(job.id) }, text);
    if (job.status === "succeeded" && job.images_labelled) {
      row.append(" ", el("a", { href: "?auto_labelled=true" }, "show them"));
      const review = this.panel.dataset.reviewUrl;
      if (review) row.append(" ", el("a", { href: `${review}?auto_labelled=true` }, "review them"));
    }
    return row;
  }

  private say(text: string): void {
    $("#assist-message", this.panel).textContent = text;
  }

  private failed(error: unknown, fallback: string): void {
    this.say(error instanceof ApiError ? error.message : fallback);
  }

  // --- acting (owners and admins) -------------------------------------------------------------

  private wire(): void {
    if (!this.canPredict) return;
    const pin = $("#assist-pin", this.panel) as HTMLSelectElement;
    pin.addEventListener("change", () => void this.patch({ pinned_run: pin.value ? Number(pin.value) : null }));
    const auto = $("#assist-auto", this.panel) as HTMLInputElement;
    auto.addEventListener("change", () => void this.patch({ auto_suggest: auto.checked }));
    $("#assist-predict-unlabelled", this.panel).addEventListener("click", () => void this.predict("unlabelled"));
    $("#assist-predict-all", this.panel).addEventListener("click", () => void this.predict("all"));
    const form = $("#autolabel-form", this.panel) as HTMLFormElement;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.showPreview();
    });
    // A preview holds for the threshold it was made with: another one asks again.
    $("#autolabel-threshold", this.panel).addEventListener("input", () => this.clearPreview());
    $("#autolabel-start", this.panel).addEventListener("click", () => void this.autolabel());
  }

  private async patch(body: { pinned_run?: number | null; auto_suggest?: boolean }): Promise<void> {
    this.say("");
    try {
      await api(`${this.apiBase}assist/`, { method: "PATCH", body: JSON.stringify(body) });
      if ("pinned_run" in body) {
        // Another run's threshold is another default.
        ($("#autolabel-threshold", this.panel) as HTMLInputElement).value = "";
        this.clearPreview();
      }
    } catch (error) {
      this.failed(error, "The setting could not be saved.");
    }
    await this.refresh();
  }

  private async predict(scope: "unlabelled" | "all"): Promise<void> {
    this.say(scope === "all" ? "Starting a prediction of every image…" : "Starting a prediction of the unlabelled images…");
    try {
      const job = await api<Prediction>(`${this.apiBase}predictions/`, { method: "POST", body: JSON.stringify({ scope }) });
      mergeJob(this.predictions, job);
      this.say("");
    } catch (error) {
      this.failed(error, "The prediction could not be started.");
    }
    this.renderJobs();
    this.pollWhileActive();
  }

  private async cancelPrediction(id: number, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      mergeJob(this.predictions, await api<Prediction>(`${this.apiBase}predictions/${id}/cancel/`, { method: "POST" }));
    } catch (error) {
      this.failed(error, "The prediction could not be cancelled.");
    }
    await this.refresh();
  }

  private threshold(): string {
    return ($("#autolabel-threshold", this.panel) as HTMLInputElement).value;
  }

  private clearPreview(): void {
    this.preview = null;
    $("#autolabel-preview", this.panel).replaceChildren();
    $("#autolabel-start", this.panel).hidden = true;
  }

  private async showPreview(): Promise<void> {
    this.clearPreview();
    const out = $("#autolabel-preview", this.panel);
    out.textContent = "Counting…";
    try {
      const query = new URLSearchParams({ threshold: this.threshold() });
      this.preview = await api<Preview>(`${this.apiBase}auto-label/preview/?${query}`);
    } catch (error) {
      out.textContent = error instanceof ApiError ? error.message : "The preview failed.";
      return;
    }
    const { images, per_label: perLabel, threshold } = this.preview;
    if (!images) {
      out.textContent = `No never-annotated image has a suggestion scoring ${threshold.toFixed(2)} or more.`;
      return;
    }
    const unit = this.classification ? "images per label" : "boxes per label";
    out.replaceChildren(
      el("p", { id: "autolabel-preview-images" }, `${plural(images, "image")} would be labelled at ≥ ${threshold.toFixed(2)}.`),
      el("p", { class: "muted", id: "autolabel-preview-labels" }, `${unit}: ${perLabelText(perLabel)}`),
    );
    const start = $("#autolabel-start", this.panel);
    start.textContent = `Auto-label ${plural(images, "image")}`;
    start.hidden = false;
  }

  private async autolabel(): Promise<void> {
    if (!this.preview) return;
    const start = $("#autolabel-start", this.panel) as HTMLButtonElement;
    start.disabled = true;
    try {
      const job = await api<AutoLabel>(`${this.apiBase}auto-label/`, {
        method: "POST",
        body: JSON.stringify({ threshold: this.preview.threshold }),
      });
      mergeJob(this.autolabels, job);
      this.clearPreview();
    } catch (error) {
      $("#autolabel-preview", this.panel).textContent = error instanceof ApiError ? error.message : "The auto-label could not be started.";
    } finally {
      start.disabled = false;
    }
    this.renderJobs();
    this.pollWhileActive();
  }
}
