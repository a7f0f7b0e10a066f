// The editor: which image is shown, how edits flow (ops -> undo history -> autosave), and
// how the websocket's news reaches the screen. The tools (boxes, classification grid),
// the strip, the canvas and the keyboard are separate modules wired together here.

import { api, ApiError, type ImageItem, type Label } from "../lib/api";
import { $ } from "../lib/dom";
import type { ProjectEvent } from "../lib/events";
import { projectSocket } from "../lib/projectsocket";
import { BoxTools } from "./boxes";
import { BoxList } from "./boxlist";
import { Classifier } from "./classify";
import { emptyDoc, isLabelled } from "./doc";
import { History } from "./history";
import { PointerInput } from "./input";
import { Labels } from "./labels";
import { Live } from "./live";
import { Queue } from "./queue";
import { type Draft, type Renderer, type Scene, type SuggestedBox, stageRenderer } from "./render";
import { ReviewNote } from "./review";
import { relogin } from "./session";
import { Store } from "./store";
import { Filters, Strip } from "./strip";
import { Saver } from "./saver";
import { Suggestions } from "./suggestions";
import type { Box, Config, Doc, Op } from "./types";
import { avatar, personColour, showSync, toast } from "./ui";
import { View } from "./view";

const PREFETCH = 3;
const COUNTS_DELAY_MS = 500;
// "n / N" asks the server where the image sits; a burst of → presses asks once, at the end.
const POSITION_DELAY_MS = 250;
// annotator/services/labels.py MAX_IMAGE_EVENTS: above it a label change comes without per-image events.
const LABEL_EVENT_IMAGES = 500;

export class Editor {
  readonly store: Store;
  readonly saver: Saver;
  readonly live: Live;
  readonly labels: Labels;
  readonly strip: Strip;
  readonly filters: Filters;
  readonly view = new View();
  readonly renderer: Renderer;
  readonly boxes: BoxTools;
  readonly classifier: Classifier | null = null;
  readonly input: PointerInput;
  readonly review: ReviewNote;
  readonly boxList: BoxList;
  readonly suggestions: Suggestions;
  current: ImageItem | null = null;
  doc: Doc | null = null;
  spaceHeld = false;
  spaceUsed = false;
  private bitmap: HTMLImageElement | null = null;
  private previous: number | null = null;
  private navigation = 0;
  private history = new History();
  private countsTimer = 0;
  private positionTimer = 0;
  private positionRequests = 0;
  private loggingIn: Promise<void> | null = null;

  constructor(readonly cfg: Config) {
    const stage = $("#stage");
    this.store = new Store(cfg.api);
    const queue = new Queue(`annotator:queue:v1:${cfg.projectId}:${cfg.userId}`);
    this.saver = new Saver((id) => this.store.annotationsUrl(id), queue, {
      serverDoc: (id) => this.store.server(id),
      setServerDoc: (doc) => this.serverChanged(doc),
      changed: (id, doc) => this.localChanged(id, doc),
      notify: toast,
      state: showSync,
      login: () => this.relogin(),
    });
    this.live = new Live(projectSocket(cfg.projectId, cfg.ws), cfg.userId, {
      event: (event) => void this.remoteEvent(event),
      people: () => this.showPeople(),
      drafts: () => this.renderer.invalidate("overlay"),
      resync: () => void this.resync(),
      expired: () => void this.relogin().then(() => this.live.connect()),
      refused: (message) => toast(message, "error"),
    });
    this.review = new ReviewNote($("#review-note"), cfg.api, () => this.focusWork());
    const input = document.querySelector<HTMLInputElement>("#label-input");
    this.labels = new Labels(cfg.api, $("#label-list"), input, $("#label-hint"), cfg.canCreateLabel, {
      picked: (label) => this.labelPicked(label),
      notify: toast,
      done: () => this.focusWork(),
    });
    const classification = cfg.type === "classification";
    const list = classification ? $("#class-grid-list") : $("#strip");
    this.strip = new Strip(cfg.api, list, classification ? $("#class-grid") : list, {
      open: (item, event) => (this.classifier ? this.classifier.click(item, event) : void this.show(item)),
      decorate: (tile, item) => this.classifier?.decorate(tile, item),
      stillUnlabelled: (item) => !this.saver.hasPending(item.id) || !this.isLabelled(item.id),
      annotations: (id) => (classification ? null : (this.saver.local(id) ?? this.store.server(id) ?? null)),
      colour: (label) => this.labels.byId.get(label)?.color || "#888888",
    });
    this.store.onServer = (id) => this.strip.drawBoxesSoon(id);
    // The project page links here with `?order=uncertain` to label what the model is least sure of first.
    if (new URLSearchParams(location.search).get("order") === "uncertain") this.strip.order = "uncertain";
    $("#strip-order").hidden = this.strip.order === "key";
    this.view.onScale = (scale) => {
      const text = `${Math.round(scale * 100)}%`;
      const node = $("#zoom-level");
      if (node.textContent !== text) node.textContent = text;
    };
    this.filters = new Filters($("#strip-filters"), cfg.api, (filter) => this.filterChanged(filter));
    this.renderer = stageRenderer(stage, this.view, () => this.scene());
    this.boxes = new BoxTools(
      {
        doc: () => this.doc,
        canEdit: () => cfg.canAnnotate && this.doc !== null && !classification,
        activeLabel: () => this.labels.active,
        edit: (ops) => this.edit(ops),
        previousDoc: () => this.previousDoc(),
        redraw: (layers) => this.renderer.invalidate(...layers),
        selectionChanged: () => {
        if (this.boxes.hasSelection()) this.suggestions.select(null);
        this.boxList.selectionChanged();
      },
        draft: (boxes) => this.current && cfg.canAnnotate && this.live.draft(this.current.id, boxes),
        spacePan: () => this.spaceHeld && (this.spaceUsed = true),
        notify: toast,
      },
      this.view,
    );
    this.boxList = new BoxList($("#box-list"), $("#box-count"), {
      doc: () => (classification ? null : this.doc),
      size: () => (this.current ? [this.view.w, this.view.h] : null),
      labels: () => this.labels.byId,
      selected: () => this.boxes.selected(),
      select: (id, toggle) => this.boxes.select(id, toggle),
      deleteSelected: () => this.boxes.deleteSelected(),
      done: () => this.focusWork(),
    });
    this.suggestions = new Suggestions(
      cfg.api,
      `annotator:suggestion-threshold:v1:${cfg.projectId}`,
      $("#suggestions-panel"),
      {
        doc: () => this.doc,
        canEdit: () => cfg.canAnnotate && this.doc !== null,
        edit: (ops) => this.edit(ops),
        changed: () => this.suggestionsChanged(),
        notify: toast,
      },
    );
    this.input = new PointerInput(stage, this.view, this.boxes, {
      at: (nx, ny) => this.suggestions.at(nx, ny),
      click: (id) => this.clickSuggestion(id),
    });
    if (classification) {
      this.classifier = new Classifier(
        {
          local: (item) => this.localOf(item),
          editImage: (item, ops) => this.editImage(item, ops),
          showSingle: (item) => void this.openSingle(item),
          showGrid: () => this.showGrid(),
          current: () => this.current,
          canEdit: () => cfg.canAnnotate,
          notify: toast,
        },
        this.strip,
        this.labels,
      );
    }
  }

  async start(): Promise<void> {
    await this.labels.load();
    let first = await this.firstImage();
    await this.strip.anchor(first);
    first ??= this.strip.items[0] ?? null;
    if (this.classifier) this.showGrid();
    if (first && !this.classifier) await this.show(first);
    if (!first) $("#stage-empty").hidden = false;
    this.live.connect();
    this.scheduleCounts(0);
    await this.saver.flushAll();
  }

  /** The image named in the URL, else the first unlabelled one, else the first. */
  private async firstImage(): Promise<ImageItem | null> {
    const wanted = Number(new URLSearchParams(location.search).get("image"));
    if (wanted > 0) {
      try {
        return await this.store.fetchItem(wanted);
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
        toast("That image no longer exists; showing the next unlabelled one.", "warn");
      }
    }
    return this.strip.nextUnlabelled(null);
  }

  // --- showing images ----------------------------------------------------------------

  async show(item: ImageItem): Promise<void> {
    const mine = ++this.navigation;
    if (this.current && this.current.id !== item.id) {
      this.previous = this.current.id;
      this.saver.flushSoon(this.current.id);
    }
    this.input.cancel();
    this.current = item;
    this.store.remember(item);
    this.boxes.reset();
    this.strip.setCurrent(item.id);
    $("#image-name").textContent = item.key;
    const order = this.strip.order === "key" ? "" : `&order=${this.strip.order}`;
    window.history.replaceState(null, "", `?image=${item.id}${order}`);
    this.live.setImage(item.id);
    void this.suggestions.load(item.id);
    this.showPeople();
    void this.review.load(item.id, item.version);
    // A cached state is trusted while the websocket would have told us about changes.
    const cached = this.store.isFresh(item.id);
    let bitmap: HTMLImageElement;
    let server: Doc;
    try {
      [bitmap, server] = await Promise.all([this.store.bitmap(item), this.store.annotations(item.id)]);
    } catch (error) {
      if (mine === this.navigation) this.unavailable(item, error);
      return;
    }
    if (mine !== this.navigation) return;
    $("#stage-empty").hidden = true;
    this.bitmap = bitmap;
    this.view.setImage(bitmap.naturalWidth || item.width, bitmap.naturalHeight || item.height);
    this.view.fit();
    this.doc = this.saver.local(item.id) ?? server;
    this.afterDocChange();
    this.schedulePosition();
    this.renderer.announceWhenDrawn(item.id);
    this.store.prefetch(this.strip.upcoming(item.id, PREFETCH));
    if (cached && !this.live.connected()) void this.revalidate(item.id);
  }

  private unavailable(item: ImageItem, error: unknown): void {
    if (error instanceof ApiError && error.status === 404) {
      toast(`${item.key} was deleted.`, "warn");
      this.strip.remove(item.id);
    } else {
      toast(`${item.key} could not be loaded. Check the connection and try again.`, "error");
    }
    this.bitmap = null;
    this.doc = null;
    this.boxList.changed();
    this.renderer.invalidate("image", "boxes", "overlay");
  }

  private async revalidate(id: number): Promise<void> {
    const server = await this.store.annotations(id, true).catch(() => null);
    if (server) this.serverChanged(server);
  }

  async step(direction: 1 | -1): Promise<void> {
    if (!this.current) return;
    const item = await this.strip.neighbour(this.current.id, direction);
    if (item) await this.open(item);
    else toast(direction > 0 ? "This is the last image." : "This is the first image.");
  }

  async nextUnlabelled(): Promise<void> {
    const item = await this.strip.nextUnlabelled(this.current);
    if (!item) {
      toast("No other unlabelled images. Well done!");
      return;
    }
    if (this.strip.index(item.id) < 0) await this.strip.anchor(item);
    await this.open(item);
  }

  private open(item: ImageItem): Promise<void> {
    return this.classifier && !this.classifier.single ? this.openSingle(item) : this.show(item);
  }

  async openSingle(item: ImageItem): Promise<void> {
    this.classifier!.single = true;
    $("#editor").classList.add("single");
    $("#class-grid").hidden = true;
    await this.show(item);
    this.focusWork();
  }

  showGrid(): void {
    if (this.classifier) this.classifier.single = false;
    $("#editor").classList.remove("single");
    $("#class-grid").hidden = false;
    if (this.current) this.strip.setCurrent(this.current.id);
    this.suggestionsChanged();
    $("#class-grid").focus();
  }

  private filterChanged(filter: string): void {
    this.strip.filter = filter;
    void this.strip.anchor(this.current);
    this.schedulePosition(0);
  }

  focusWork(): void {
    (this.classifier && !this.classifier.single ? $("#class-grid") : $("#stage")).focus({ preventScroll: true });
  }

  private scene(): Scene {
    const drafts: Draft[] = [];
    for (const draft of this.live.drafts.values()) {
      if (draft.image !== this.current?.id) continue;
      for (const box of draft.boxes) drafts.push({ box, colour: personColour(draft.user.id), name: draft.user.name });
    }
    return {
      imageId: this.doc ? this.current?.id ?? null : null,
      image: this.bitmap,
      doc: this.classifier ? null : this.doc,
      labels: this.labels.byId,
      selected: this.boxes.selected(),
      working: this.boxes.working,
      hover: this.boxes.hover,
      cursor: this.boxes.cursor,
      crosshair: this.cfg.canAnnotate && !this.classifier && !this.spaceHeld,
      drafts,
      suggestions: this.suggestedBoxes(),
    };
  }

  // --- the model's suggestions ------------------------------------------------------------

  private suggestedBoxes(): SuggestedBox[] {
    if (this.classifier || !this.doc) return [];
    const selected = this.suggestions.selected;
    return this.suggestions.shown().flatMap((s) =>
      s.box ? [{ box: { id: s.uid, label: s.label, ...s.box }, score: s.score, selected: s.id === selected }] : [],
    );
  }

  private suggestionsChanged(): void {
    this.renderer.invalidate("boxes");
    if (!this.classifier) return;
    const top = this.classifier.single ? this.suggestions.topClass() : null;
    const suggested = top && { label: top.label, score: top.score };
    if (suggested?.label === this.labels.suggested?.label && suggested?.score === this.labels.suggested?.score) return;
    this.labels.suggested = suggested;
    this.labels.render();
  }

  /** Clicking a suggestion accepts it; a viewer's click only selects it. */
  private clickSuggestion(id: number): void {
    this.boxes.select(null);
    const suggestion = this.suggestions.shown().find((s) => s.id === id);
    if (suggestion && this.cfg.canAnnotate) this.suggestions.accept([suggestion]);
    else this.suggestions.select(id);
  }

  /** Tab / Shift+Tab: the image's boxes, then the shown suggestions, round and round. */
  selectNext(step: 1 | -1): void {
    const boxes = (this.doc?.boxes ?? []).map((b) => b.id);
    const ring: (string | number)[] = [...boxes, ...this.suggestions.shown().filter((s) => s.box).map((s) => s.id)];
    if (!ring.length) return;
    const chosen = this.suggestions.selected ?? boxes.find((id) => this.boxes.selected().has(id));
    const at = chosen === undefined ? -1 : ring.indexOf(chosen);
    const next = ring[at < 0 ? (step > 0 ? 0 : ring.length - 1) : (at + step + ring.length) % ring.length];
    if (typeof next === "number") {
      this.boxes.select(null);
      this.suggestions.select(next);
    } else {
      this.suggestions.select(null);
      this.boxes.select(next);
    }
  }

  // --- editing --------------------------------------------------------------------------

  /** Apply a user's edit to the shown image: undoable, saved automatically. */
  edit(ops: Op[], record = true): void {
    if (!this.current || !this.doc || !this.cfg.canAnnotate) return;
    if (record) this.history.record(this.current.id, this.doc, ops);
    this.editImage(this.current, ops);
  }

  editImage(item: ImageItem, ops: Op[]): void {
    const base = this.store.server(item.id) ?? this.docFromItem(item);
    const doc = this.saver.record(item.id, base, ops);
    this.localChanged(item.id, doc);
  }

  undo(): void {
    const ops = this.current && this.history.undo(this.current.id);
    if (ops) this.edit(ops, false);
  }

  redo(): void {
    const ops = this.current && this.history.redo(this.current.id);
    if (ops) this.edit(ops, false);
  }

  toggleNegative(): void {
    if (!this.doc || !this.current || (this.classifier && !this.classifier.single)) return;
    if (!this.doc.negative && (this.doc.boxes.length || this.doc.labels.length)) {
      toast("This image has annotations; remove them before marking it “no objects”.", "warn");
      return;
    }
    this.edit([{ t: "neg", value: !this.doc.negative }]);
  }

  private labelPicked(label: Label): void {
    if (this.classifier) this.classifier.apply(label);
    else this.boxes.relabel(label);
  }

  private docFromItem(item: ImageItem): Doc {
    return { ...emptyDoc(item.id, item.version), status: item.status, negative: item.negative, labels: [...item.labels] };
  }

  localOf(item: ImageItem): Doc {
    return this.saver.local(item.id) ?? this.docFromItem(item);
  }

  private isLabelled(id: number): boolean {
    const doc = this.saver.local(id);
    return Boolean(doc && isLabelled(doc));
  }

  private async previousDoc(): Promise<Doc | null> {
    let id = this.previous;
    if (id === null && this.current) id = (await this.strip.neighbour(this.current.id, -1))?.id ?? null;
    if (id === null || id === this.current?.id) return null;
    return this.saver.local(id) ?? (await this.store.annotations(id));
  }

  // --- changes from the server and from other people -----------------------------------

  private serverChanged(doc: Doc): void {
    this.store.setServer(doc);
    this.strip.update(doc);
    this.saver.rebase(doc.image, doc);
    this.localChanged(doc.image, this.saver.local(doc.image) ?? doc);
    this.scheduleCounts();
  }

  private localChanged(id: number, doc: Doc): void {
    this.strip.refreshTile(id);
    if (id !== this.current?.id) return;
    this.doc = doc;
    this.afterDocChange();
  }

  private afterDocChange(): void {
    this.boxes.pruneSelection();
    const negative = document.getElementById("negative-toggle");
    negative?.setAttribute("aria-pressed", String(Boolean(this.doc?.negative)));
    if (this.doc && this.current) this.review.versionChanged(this.current.id, this.doc.version);
    if (this.doc) void this.labels.ensure([...this.doc.labels, ...this.doc.boxes.map((b: Box) => b.label)]).then(() => this.renderer.invalidate("boxes"));
    this.renderer.invalidate("image", "boxes", "overlay");
    this.boxList.changed();
    this.suggestions.paint();
  }

  private async remoteEvent(event: ProjectEvent): Promise<void> {
    if (event.event === "annotations.changed" || event.event === "image.reviewed") {
      const { image: id, version } = event.payload;
      const known = this.store.server(id);
      if (event.event === "annotations.changed" && known && known.version >= version) return; // our own save
      this.store.invalidate(id);
      if (event.event === "image.reviewed" && id === this.current?.id) void this.review.load(id, this.doc?.version ?? version);
      if (id === this.current?.id || this.strip.index(id) >= 0) await this.revalidate(id);
      this.scheduleCounts();
    } else if (event.event === "image.created") {
      this.scheduleCounts();
      if (!this.strip.items.length) await this.strip.anchor(null);
    } else if (event.event === "image.deleted") {
      const { id } = event.payload;
      this.strip.remove(id);
      if (id === this.current?.id) toast("Someone deleted the image you are on.", "warn");
      this.scheduleCounts();
    } else if (event.event === "labels.changed") {
      // Renamed, recoloured, reordered, merged or deleted: names, colours and number keys follow.
      // Images whose boxes moved get their own annotations.changed, unless there were too many.
      await this.labels.load();
      this.renderer.invalidate("boxes");
      this.boxList.changed();
      if (event.payload.images > LABEL_EVENT_IMAGES && this.current) await this.revalidate(this.current.id);
      this.scheduleCounts();
    } else if (event.event === "suggestions.changed") {
      if (this.current && event.payload.images.includes(this.current.id)) await this.suggestions.reload();
    } else if (event.event === "membership.changed" && event.payload.user === this.cfg.userId) {
      toast(`Your role in this project is now ${event.payload.role}. Reload the page to apply it.`, "warn");
    }
  }

  private async resync(): Promise<void> {
    await this.labels.load();
    if (this.current) await this.revalidate(this.current.id);
    void this.suggestions.reload();
    this.scheduleCounts();
    void this.saver.flushAll();
  }

  /** Refresh the filter counts soon; several changes in a burst cost one request. A failed
   *  refresh leaves the old numbers up until the next change asks again. */
  private scheduleCounts(delay = COUNTS_DELAY_MS): void {
    window.clearTimeout(this.countsTimer);
    const refresh = () => void this.filters.refresh(this.labels.all).catch(() => undefined);
    this.countsTimer = window.setTimeout(refresh, delay);
    this.schedulePosition(delay);
  }

  /** Show where the image sits in the strip's filter ("12 / 340"), asked of the server a moment
   *  after the last change: the strip holds only a window of the list. */
  private schedulePosition(delay = POSITION_DELAY_MS): void {
    window.clearTimeout(this.positionTimer);
    this.positionTimer = window.setTimeout(() => void this.showPosition(), delay);
  }

  private async showPosition(): Promise<void> {
    const item = this.current;
    const node = $("#position");
    if (!item) {
      node.textContent = "";
      return;
    }
    const mine = ++this.positionRequests;
    const filter = this.strip.query();
    let answer: { position: number | null; total: number };
    try {
      answer = await api(`${this.cfg.api}images/${item.id}/position/?${filter}`);
    } catch {
      return; // orientation only: the old figure stays until the next change asks again
    }
    if (mine !== this.positionRequests) return;
    node.textContent = answer.position === null ? `– / ${answer.total}` : `${answer.position} / ${answer.total}`;
    node.title = answer.position === null ? "This image is not in the current filter" : "Place in the current filter";
  }

  private showPeople(): void {
    const here = this.current?.id;
    const people = this.live.others().map((seen) => {
      const node = avatar(seen.user);
      node.classList.toggle("here", seen.image === here);
      return node;
    });
    $("#presence").replaceChildren(...people);
    this.strip.setPeople(this.live.byImage());
  }

  private relogin(): Promise<void> {
    this.loggingIn ??= relogin(this.cfg.loginUrl, `${this.cfg.api}`).finally(() => (this.loggingIn = null));
    return this.loggingIn;
  }
}
