// The review app: the queue's images drawn by the editor's renderer (read-only: pan and zoom,
// no edits), the annotator and when, and decisions from the keyboard. A decision names the
// annotation version that was drawn, so a change made meanwhile is refused (409) and shown
// instead of being approved unseen.
//
// The page follows the project's websocket (`follow`), so several reviewers share a queue without
// stepping on each other: an image a teammate decides is marked on the page (and skipped when
// moving on to the next undecided one), the shown image's boxes are redrawn as soon as its
// annotator saves new ones, a deleted image says so, label changes rename and recolour, and the
// waiting count follows. After a reconnect the shown image and the count are read again.

import { api, ApiError, type Label } from "../lib/api";
import { $, el } from "../lib/dom";
import type { ProjectEvent } from "../lib/events";
import { connectProject } from "../project/live";
import { PointerInput, type PointerHost } from "../editor/input";
import { type Renderer, type Scene, stageRenderer } from "../editor/render";
import { ago, type Review } from "../editor/review";
import { Store } from "../editor/store";
import type { Doc } from "../editor/types";
import { toast } from "../editor/ui";
import { View } from "../editor/view";
import { type QueueItem, ReviewQueue } from "./queue";

type Decision = "approve" | "reject";
const NOTHING_SELECTED: ReadonlySet<string> = new Set();
const DECIDED: Record<Decision, "approved" | "rejected"> = { approve: "approved", reject: "rejected" };
/** A burst of events (a teammate's bulk approval) costs one summary request. */
const SUMMARY_DELAY_MS = 300;
type Elsewhere = "approved" | "rejected" | "deleted";
const ELSEWHERE_TEXT: Record<Elsewhere, string> = {
  approved: "A teammate approved this image meanwhile.",
  rejected: "A teammate rejected this image meanwhile.",
  deleted: "This image was deleted meanwhile.",
};

interface BulkResult {
  decided: number[];
  skipped: { image: number; code: string; message: string }[];
}

export class ReviewApp {
  readonly view = new View();
  readonly renderer: Renderer;
  readonly queue: ReviewQueue;
  private store: Store;
  private labels = new Map<number, Label>();
  private index = -1;
  private item: QueueItem | null = null;
  private doc: Doc | null = null;
  private bitmap: HTMLImageElement | null = null;
  private hover: string | null = null;
  private navigation = 0;
  private busy = false;
  /** Decisions made on this page, by image: shown when the reviewer goes back to one. */
  private decided = new Map<number, "approved" | "rejected">();
  /** What others did to images while this page was open (the websocket's news), by image. */
  private elsewhere = new Map<number, Elsewhere>();
  private summaryTimer = 0;

  constructor(
    private root: HTMLElement,
    private apiBase: string,
  ) {
    this.store = new Store(apiBase);
    this.queue = new ReviewQueue(apiBase);
    const stage = $("#stage");
    this.renderer = stageRenderer(stage, this.view, () => this.scene());
    new PointerInput(stage, this.view, this.pointerHost());
  }

  /** Pan, zoom and hover only: the review page never edits boxes. */
  private pointerHost(): PointerHost {
    const redraw = () => this.renderer.invalidate("image", "boxes", "overlay");
    return {
      doc: () => this.doc,
      canEdit: () => false,
      activeLabel: () => null,
      selected: () => NOTHING_SELECTED,
      select: () => undefined,
      commit: () => undefined,
      setWorking: () => undefined,
      setHover: (id) => {
        if (id === this.hover) return;
        this.hover = id;
        this.renderer.invalidate("overlay");
      },
      viewChanged: redraw,
      spacePan: () => false,
      draft: () => undefined,
      noLabel: () => undefined,
    };
  }

  private scene(): Scene {
    return {
      imageId: this.doc ? (this.item?.id ?? null) : null,
      image: this.bitmap,
      doc: this.doc,
      labels: this.labels,
      selected: NOTHING_SELECTED,
      working: null,
      hover: this.hover,
      cursor: null,
      crosshair: false,
      drafts: [],
    };
  }

  /** `first`: the image the URL asked for (or null), in the queue's shape. */
  async start(first: QueueItem | null): Promise<void> {
    const labels = await api<Label[]>(`${this.apiBase}labels/`);
    this.labels = new Map(labels.map((l) => [l.id, l]));
    const labelSelect = $("#rv-label") as HTMLSelectElement;
    labelSelect.append(...labels.map((l) => el("option", { value: String(l.id) }, l.name)));
    // The project page's Assist panel links here with ?auto_labelled=true after a bulk auto-label.
    const auto = new URLSearchParams(location.search).get("auto_labelled");
    if (auto === "true" || auto === "false") ($("#rv-auto") as HTMLSelectElement).value = auto;
    await this.reload(first);
  }

  /** Follow the project's websocket (see the top of this file). */
  follow(projectId: string): void {
    connectProject(projectId, (event) => void this.heard(event), () => void this.resync());
  }

  private async heard(event: ProjectEvent): Promise<void> {
    if (event.event === "image.reviewed") {
      const { image, status } = event.payload;
      // Our own decisions come back too; `decided` outranks this where both know the image.
      if (status === "approved" || status === "rejected") this.elsewhere.set(image, status);
      else this.elsewhere.delete(image); // sent back to review: waiting again
      if (image === this.item?.id) {
        this.showState();
        void this.loadHistory(image);
      }
    } else if (event.event === "annotations.changed") {
      const { image, version } = event.payload;
      // New boxes send an image back to review, whoever decided it before.
      if (this.elsewhere.get(image) !== "deleted") this.elsewhere.delete(image);
      this.decided.delete(image);
      if (image === this.item?.id) this.showState();
      if (image === this.item?.id && this.doc && version > this.doc.version) {
        await this.redrawShown(`${this.item.key} was just changed: the new boxes are shown.`);
      }
    } else if (event.event === "image.deleted") {
      this.elsewhere.set(event.payload.id, "deleted");
      if (event.payload.id === this.item?.id) this.showState();
    } else if (event.event === "labels.changed") {
      this.labels = new Map(event.payload.labels.map((l) => [l.id, l]));
      this.showContent(this.doc);
      this.renderer.invalidate("boxes", "overlay");
    } else if (event.event !== "images.imported") {
      return;
    }
    this.refreshSummarySoon();
  }

  /** After a reconnect, events may have been missed: read the shown image and the count again. */
  private async resync(): Promise<void> {
    this.refreshSummarySoon();
    const item = this.item;
    if (!item || !this.doc) return;
    void this.loadHistory(item.id);
    await this.redrawShown(`${item.key} changed while the connection was down: the new boxes are shown.`);
  }

  /** Fetch the shown image's annotations; where they are newer than those drawn, draw them and say so. */
  private async redrawShown(news: string): Promise<void> {
    const item = this.item;
    if (!item || !this.doc) return;
    let doc: Doc;
    try {
      doc = await this.store.annotations(item.id, true);
    } catch {
      return; // a deletion arrives as its own event; anything else the next decision finds
    }
    if (item.id !== this.item?.id || !this.doc || doc.version <= this.doc.version) return;
    this.doc = doc;
    this.showContent(doc);
    this.renderer.invalidate("boxes", "overlay");
    toast(news, "warn");
  }

  private refreshSummarySoon(): void {
    window.clearTimeout(this.summaryTimer);
    this.summaryTimer = window.setTimeout(() => {
      this.queue.summary().then(
        (summary) => {
          this.fillAnnotators(summary.annotators);
          this.showWaiting(summary.count);
        },
        () => undefined,
      );
    }, SUMMARY_DELAY_MS);
  }

  /** The filters changed (or the page opened): load the queue again from its start. */
  async reload(first: QueueItem | null = null): Promise<void> {
    this.queue.filter = {
      annotator: ($("#rv-annotator") as HTMLSelectElement).value,
      label: ($("#rv-label") as HTMLSelectElement).value,
      auto_labelled: ($("#rv-auto") as HTMLSelectElement).value,
    };
    const summary = await this.queue.reload(first);
    this.fillAnnotators(summary.annotators);
    this.showWaiting(summary.count);
    await this.go(0);
  }

  private showWaiting(count: number): void {
    $("#rv-waiting").textContent = `${count} labelled image${count === 1 ? "" : "s"} waiting`;
  }

  private fillAnnotators(annotators: { id: number; name: string; count: number }[]): void {
    const select = $("#rv-annotator") as HTMLSelectElement;
    const chosen = select.value;
    const options = annotators.map((a) => el("option", { value: String(a.id) }, `${a.name} (${a.count})`));
    select.replaceChildren(el("option", { value: "" }, "Everyone"), ...options);
    // Someone whose images were all decided meanwhile stays choosable while chosen.
    if (chosen && !annotators.some((a) => String(a.id) === chosen)) {
      select.append(el("option", { value: chosen }, "(nothing waiting)"));
    }
    select.value = chosen;
  }

  // --- moving through the queue -------------------------------------------------------

  async go(index: number): Promise<void> {
    const mine = ++this.navigation;
    const item = index >= 0 ? await this.queue.at(index) : null;
    if (mine !== this.navigation) return;
    if (!item) {
      if (index <= 0) this.showEmpty();
      else toast(index > this.index ? "That was the last image in this queue." : "This is the first image.");
      return;
    }
    this.index = index;
    this.item = item;
    this.closeReject();
    this.showContent(null);
    $("#stage-empty").hidden = true;
    $("#image-name").textContent = item.key;
    ($("#rv-open-editor") as HTMLAnchorElement).href = `${this.root.dataset.editorUrl}?image=${item.id}`;
    this.showPosition();
    this.showWho(item);
    this.showState();
    window.history.replaceState(null, "", `?image=${item.id}`);
    void this.loadHistory(item.id);
    let bitmap: HTMLImageElement;
    let doc: Doc;
    try {
      [bitmap, doc] = await Promise.all([this.store.bitmap(item), this.store.annotations(item.id, true)]);
    } catch (error) {
      if (mine !== this.navigation) return;
      const gone = error instanceof ApiError && error.status === 404;
      toast(gone ? `${item.key} was deleted.` : `${item.key} could not be loaded; press → to go on.`, "error");
      [this.bitmap, this.doc] = [null, null];
      this.renderer.invalidate("image", "boxes", "overlay");
      return;
    }
    if (mine !== this.navigation) return;
    [this.bitmap, this.doc] = [bitmap, doc];
    this.showContent(doc);
    this.view.setImage(bitmap.naturalWidth || item.width, bitmap.naturalHeight || item.height);
    this.view.fit();
    this.renderer.announceWhenDrawn(item.id);
    this.prefetch();
  }

  private prefetch(): void {
    const next = this.queue.items.slice(this.index + 1, this.index + 3);
    for (const item of next) this.store.bitmap(item).catch(() => undefined);
  }

  step(direction: 1 | -1): void {
    void this.go(this.index + direction);
  }

  zoom(how: "in" | "out" | "fit"): void {
    if (how === "fit") this.view.fit();
    else this.view.zoomAt(how === "in" ? 1.25 : 0.8);
    this.renderer.invalidate("image", "boxes", "overlay");
  }

  private showEmpty(): void {
    [this.index, this.item, this.doc, this.bitmap] = [-1, null, null, null];
    $("#stage-empty").hidden = false;
    $("#image-name").textContent = "";
    $("#rv-who").textContent = "";
    this.showState();
    $("#rv-history").replaceChildren();
    this.showPosition();
    this.renderer.invalidate("image", "boxes", "overlay");
  }

  private showPosition(): void {
    const total = Math.max(this.queue.total, this.queue.items.length);
    $("#rv-position").textContent = this.item ? `${this.index + 1} / ${total}` : `0 / ${total}`;
  }

  private showWho(item: QueueItem): void {
    const who = $("#rv-who");
    const name = item.annotated_by?.name ?? "a former member";
    if (!item.annotated_at) {
      who.textContent = "Not labelled yet.";
      return;
    }
    const when = el("time", { datetime: item.annotated_at, title: new Date(item.annotated_at).toLocaleString() });
    when.textContent = ago(item.annotated_at);
    const boxes = `${item.box_count} box${item.box_count === 1 ? "" : "es"}`;
    who.replaceChildren("Labelled by ", el("strong", {}, name), ", ", when, ` · ${boxes}`);
  }

  /** What the boxes cannot show: a classification's classes, or "no objects". */
  private showContent(doc: Doc | null): void {
    const names = (doc?.labels ?? []).map((id) => this.labels.get(id)?.name ?? `#${id}`);
    const parts = names.length ? [`Class: ${names.join(", ")}`] : [];
    if (doc?.negative) parts.push("Marked “no objects”");
    $("#rv-content").textContent = parts.join(" · ");
  }

  private showState(): void {
    const state = $("#rv-state");
    const decision = this.item ? this.decided.get(this.item.id) : undefined;
    const other = this.item && !decision ? this.elsewhere.get(this.item.id) : undefined;
    state.dataset.decision = decision ?? other ?? "";
    state.textContent = decision ? `You ${decision} this image.` : other ? ELSEWHERE_TEXT[other] : "";
  }

  private async loadHistory(id: number): Promise<void> {
    let reviews: Review[];
    try {
      reviews = await api<Review[]>(`${this.apiBase}images/${id}/review/`);
    } catch {
      return; // the history is context; the decision works without it
    }
    if (id !== this.item?.id) return;
    const rows = reviews.slice(0, 10).map((r) => {
      const who = r.reviewer_name || "a former member";
      const verdict = r.decision === "rejected" ? "Rejected" : "Approved";
      const row = el("li", {}, el("strong", {}, verdict), ` by ${who}, ${ago(r.created_at)}`);
      if (r.comment) row.append(": “", r.comment, "”");
      return row;
    });
    $("#rv-history").replaceChildren(...(rows.length ? rows : [el("li", { class: "muted" }, "No decisions yet.")]));
  }

  // --- deciding -----------------------------------------------------------------------

  /** Whether the shown image's boxes are on screen, so a decision can name what was seen. */
  private ready(): boolean {
    if (this.item && !this.doc) toast("The image is still loading; decide once its boxes show.", "warn");
    return Boolean(this.item && this.doc);
  }

  openReject(): void {
    if (!this.ready()) return;
    $("#rv-reject-form").hidden = false;
    ($("#rv-comment") as HTMLTextAreaElement).focus();
  }

  closeReject(): void {
    const form = $("#rv-reject-form");
    if (form.hidden) return;
    form.hidden = true;
    ($("#rv-comment") as HTMLTextAreaElement).value = "";
    $("#stage").focus({ preventScroll: true });
  }

  async decide(decision: Decision, comment = ""): Promise<void> {
    const item = this.item;
    const doc = this.doc;
    if (!this.ready() || !item || !doc || this.busy) return;
    this.busy = true;
    try {
      await api(`${this.apiBase}images/${item.id}/review/`, {
        method: "POST",
        body: JSON.stringify({ decision, comment, version: doc.version }),
      });
    } catch (error) {
      this.refused(item, error);
      return;
    } finally {
      this.busy = false;
    }
    this.decided.set(item.id, DECIDED[decision]);
    this.closeReject();
    toast(`${item.key}: ${DECIDED[decision]}.`);
    void this.queue.summary().then((summary) => this.showWaiting(summary.count), () => undefined);
    if (item.id === this.item?.id) await this.nextUndecided();
  }

  private refused(item: QueueItem, error: unknown): void {
    if (!(error instanceof ApiError)) {
      toast("The decision could not be sent. Check the connection and try again.", "error");
      return;
    }
    if (error.code === "stale_version" && error.body?.error?.current) {
      // Someone changed the boxes after they were drawn here: show the new ones, decide again.
      const current = error.body.error.current as Doc;
      this.store.setServer(current);
      if (item.id === this.item?.id) {
        this.doc = current;
        this.showContent(current);
        this.renderer.invalidate("boxes", "overlay");
      }
      toast(`${item.key} changed while you looked at it: the new boxes are shown; decide again.`, "warn");
      return;
    }
    toast(error.message, "error");
  }

  /** After a decision: the next image not decided on this page, else stay and say so. */
  private async nextUndecided(): Promise<void> {
    for (let i = this.index + 1; ; i++) {
      const item = await this.queue.at(i);
      if (!item) break;
      if (!this.decided.has(item.id) && !this.elsewhere.has(item.id)) {
        await this.go(i);
        return;
      }
    }
    this.showState();
    toast("That was the last image waiting here. Well done!");
  }

  // --- bulk ---------------------------------------------------------------------------

  async bulkApprove(): Promise<void> {
    const limit = Number(this.root.dataset.maxBulk) || 500;
    const [summary, items] = await Promise.all([this.queue.summary(), this.queue.collect(limit)]);
    if (!items.length) {
      toast("Nothing in this filter waits for review.", "warn");
      return;
    }
    const filtered = this.describeFilter();
    const text =
      summary.count > items.length
        ? `Approve the first ${items.length} of ${summary.count} images ${filtered} (by name)? Run it again for the rest.`
        : `Approve ${items.length} image${items.length === 1 ? "" : "s"} ${filtered}? Each is approved as it is now; an image changed meanwhile is left for you to look at.`;
    if (!(await this.confirm(text, `Approve ${items.length}`))) return;
    let result: BulkResult;
    try {
      result = await api<BulkResult>(`${this.apiBase}review/bulk/`, {
        method: "POST",
        body: JSON.stringify({ decision: "approve", images: items.map((i) => ({ id: i.id, version: i.version })) }),
      });
    } catch (error) {
      toast(error instanceof ApiError ? error.message : "The approval could not be sent.", "error");
      return;
    }
    for (const id of result.decided) this.decided.set(id, "approved");
    const skipped = result.skipped.length ? `; ${result.skipped.length} left as they were (${result.skipped[0].message})` : "";
    toast(`Approved ${result.decided.length} image${result.decided.length === 1 ? "" : "s"}${skipped}.`);
    await this.reload();
  }

  private describeFilter(): string {
    const parts: string[] = [];
    const annotator = $("#rv-annotator") as HTMLSelectElement;
    const label = $("#rv-label") as HTMLSelectElement;
    if (annotator.value) parts.push(`labelled by ${annotator.selectedOptions[0].text.replace(/ \(\d+\)$/, "")}`);
    if (label.value) parts.push(`with “${label.selectedOptions[0].text}”`);
    const auto = ($("#rv-auto") as HTMLSelectElement).value;
    if (auto) parts.push(auto === "true" ? "written by auto-label" : "labelled by people");
    return parts.length ? parts.join(" ") : "waiting for review";
  }

  private confirm(text: string, action: string): Promise<boolean> {
    const dialog = $("#rv-confirm") as HTMLDialogElement;
    $("#rv-confirm-text").textContent = text;
    $("#rv-confirm-ok").textContent = action;
    dialog.returnValue = "";
    dialog.showModal();
    $("#rv-confirm-ok").focus();
    return new Promise((resolve) => {
      dialog.addEventListener(
        "close",
        () => {
          $("#stage").focus({ preventScroll: true });
          resolve(dialog.returnValue === "ok");
        },
        { once: true },
      );
    });
  }
}
