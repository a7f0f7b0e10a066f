// The image strip (and the classification grid, which is the same list laid out as a grid):
// filters with live counts, infinite scroll in both directions around the current image,
// and the neighbours "next", "previous" and "next unlabelled". Tiles show their image's boxes
// when the editor already holds its annotations (shown or prefetched), drawn after the next
// frame; nothing is fetched for the strip.

import { api, type ImageItem, type Label, type Page } from "../lib/api";
import { $, el } from "../lib/dom";
import { afterNextFrame, avatar, toast } from "./ui";
import type { Doc, Person } from "./types";

const PAGE = 50;
const SVG = "http://www.w3.org/2000/svg";

interface Counts {
  all: number;
  annotated: number;
  status: Record<string, number>;
  labels: Record<string, number>;
}

/**
 * A cursor that starts at an image's key. The list is ordered by key and paginated by
 * DRF's CursorPagination, whose cursor is base64 of "r=<reverse>&p=<position>"; building
 * one lets the strip open in the middle of 100,000 images with one request each way.
 */
function cursorAt(key: string, reverse: boolean): string {
  const query = new URLSearchParams(reverse ? { r: "1", p: key } : { p: key });
  return btoa(query.toString());
}

export interface StripHost {
  open(item: ImageItem, event: MouseEvent): void;
  decorate(tile: HTMLElement, item: ImageItem): void;
  /** False for images whose unsaved local edits already label them. */
  stillUnlabelled(item: ImageItem): boolean;
  /** The annotations the editor holds for an image (its local edits first), or null. */
  annotations(id: number): Doc | null;
  colour(label: number): string;
}

/** The strip's order: by name, or the assist model's least sure images first (`?order=uncertain`,
 *  which lists only the images it predicted). */
export type Order = "key" | "uncertain";

export class Strip {
  items: ImageItem[] = [];
  filter = "";
  order: Order = "key";
  private before: string | null = null;
  private after: string | null = null;
  private loading: Promise<void> | null = null;
  private generation = 0;
  private current: number | null = null;
  private boxesDue = new Set<number>();
  private boxesScheduled = false;
  private startSentinel = el("li", { class: "sentinel", "aria-hidden": "true" });
  private endSentinel = el("li", { class: "sentinel", "aria-hidden": "true" });

  constructor(
    private apiBase: string,
    private list: HTMLElement,
    private scroller: HTMLElement,
    private host: StripHost,
  ) {
    list.addEventListener("click", (event) => {
      const tile = (event.target as HTMLElement).closest<HTMLElement>("[data-image-id]");
      const item = tile && this.items.find((i) => i.id === Number(tile.dataset.imageId));
      if (item) host.open(item, event);
    });
    const observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          if (!entry.isIntersecting) continue;
          const loading = entry.target === this.endSentinel ? this.loadAfter() : this.loadBefore();
          loading.catch(() => toast("More images could not be loaded; scroll again to retry.", "warn"));
        }
      },
      { root: scroller, rootMargin: "400px" },
    );
    observer.observe(this.startSentinel);
    observer.observe(this.endSentinel);
  }

  /** The filter and order, as the image list and the position endpoint read them. */
  query(): URLSearchParams {
    const query = new URLSearchParams(this.filter);
    if (this.order !== "key") query.set("order", this.order);
    return query;
  }

  /** Where `item` sits in the order, as a cursor position; null when it has no place there. */
  private position(item: ImageItem): string | null {
    if (this.order === "key") return item.key;
    return item.uncertainty === null || item.uncertainty === undefined ? null : String(item.uncertainty);
  }

  private url(extra: Record<string, string> = {}): string {
    const query = this.query();
    query.set("page_size", String(PAGE));
    for (const [k, v] of Object.entries(extra)) query.set(k, v);
    return `${this.apiBase}images/?${query}`;
  }

  /** Fill the list around `item` (or from the start), under the current filter. */
  async anchor(item: ImageItem | null): Promise<void> {
    const mine = ++this.generation;
    const at = item && this.position(item);
    const [back, forth] = await Promise.all([
      at !== null ? api<Page<ImageItem>>(this.url({ cursor: cursorAt(at, true) })) : null,
      api<Page<ImageItem>>(at !== null ? this.url({ cursor: cursorAt(at, false) }) : this.url()),
    ]);
    if (mine !== this.generation) return;
    this.items = [...(back?.results ?? []), ...(item ? [item] : []), ...forth.results];
    this.before = back?.previous ?? null;
    this.after = forth.next;
    this.list.replaceChildren(this.startSentinel, ...this.items.map((i) => this.tile(i)), this.endSentinel);
    if (this.current !== null) this.setCurrent(this.current);
  }

  private async loadPage(url: string, prepend: boolean): Promise<void> {
    const mine = this.generation;
    const page = await api<Page<ImageItem>>(url);
    if (mine !== this.generation) return;
    const known = new Set(this.items.map((i) => i.id));
    const fresh = page.results.filter((i) => !known.has(i.id));
    if (prepend) {
      const [w, h] = [this.scroller.scrollWidth, this.scroller.scrollHeight];
      this.items.unshift(...fresh);
      this.startSentinel.after(...fresh.map((i) => this.tile(i)));
      this.before = page.previous;
      this.scroller.scrollLeft += this.scroller.scrollWidth - w;
      this.scroller.scrollTop += this.scroller.scrollHeight - h;
    } else {
      this.items.push(...fresh);
      this.endSentinel.before(...fresh.map((i) => this.tile(i)));
      this.after = page.next;
    }
  }

  private guarded(run: () => Promise<void>): Promise<void> {
    if (this.loading) return this.loading;
    this.loading = run().finally(() => (this.loading = null));
    return this.loading;
  }

  loadAfter(): Promise<void> {
    return this.after ? this.guarded(() => this.loadPage(this.after!, false)) : Promise.resolve();
  }

  loadBefore(): Promise<void> {
    return this.before ? this.guarded(() => this.loadPage(this.before!, true)) : Promise.resolve();
  }

  index(id: number): number {
    return this.items.findIndex((i) => i.id === id);
  }

  /** The image before or after `id` in the list, loading a page when at an end. */
  async neighbour(id: number, step: 1 | -1): Promise<ImageItem | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const at = this.index(id);
      if (at < 0) return this.items[0] ?? null;
      const item = this.items[at + step];
      if (item) return item;
      await (step > 0 ? this.loadAfter() : this.loadBefore());
    }
    return null;
  }

  /** The next image after `from` (in the strip's order, wrapping round) that needs labelling: never labelled,
   *  or rejected in review (the annotator's queue). */
  async nextUnlabelled(from: ImageItem | null): Promise<ImageItem | null> {
    const order: Record<string, string> = this.order === "key" ? {} : { order: this.order };
    const query = (extra: Record<string, string>) =>
      `${this.apiBase}images/?${new URLSearchParams({ status: "unlabelled,rejected", page_size: "10", ...order, ...extra })}`;
    const at = from && this.position(from);
    const pages = [at !== null ? query({ cursor: cursorAt(at, false) }) : null, query({})];
    for (const url of pages) {
      if (!url) continue;
      const page = await api<Page<ImageItem>>(url);
      const found = page.results.find((i) => i.id !== from?.id && this.host.stillUnlabelled(i));
      if (found) return found;
    }
    return null;
  }

  /** The next few images after `id`, for prefetching. */
  upcoming(id: number, count: number): ImageItem[] {
    const at = this.index(id);
    if (at < 0) return [];
    return [...this.items.slice(at + 1, at + 1 + count), ...this.items.slice(Math.max(0, at - 1), at)];
  }

  setCurrent(id: number | null): void {
    this.current = id;
    for (const tile of this.list.querySelectorAll<HTMLElement>(".current")) tile.classList.remove("current");
    const tile = id === null ? null : this.tileOf(id);
    if (!tile) return;
    tile.classList.add("current");
    tile.scrollIntoView({ block: "nearest", inline: "center" });
  }

  /** How many tiles sit in one row of the grid (Up/Down move by a row). */
  columns(): number {
    const tiles = [...this.list.querySelectorAll<HTMLElement>(".ed-tile")];
    const top = tiles[0]?.offsetTop;
    const row = tiles.findIndex((t) => t.offsetTop !== top);
    return row < 0 ? Math.max(1, tiles.length) : row;
  }

  tileOf(id: number): HTMLElement | null {
    return this.list.querySelector<HTMLElement>(`[data-image-id="${id}"]`);
  }

  private tile(item: ImageItem): HTMLElement {
    const thumb = el("img", { src: item.thumbnail_url, alt: "", loading: "lazy", draggable: "false" });
    const tile = el(
      "li",
      { class: "ed-tile", "data-image-id": String(item.id), title: item.key, role: "option" },
      thumb,
      el("span", { class: `badge status-${item.status}` }, item.status),
      el("span", { class: "ed-people" }),
    );
    if (item.id === this.current) tile.classList.add("current");
    this.host.decorate(tile, item);
    this.drawBoxesSoon(item.id);
    return tile;
  }

  /** Draw (or redraw) a tile's boxes after the next frame; several changes cost one drawing. */
  drawBoxesSoon(id: number): void {
    this.boxesDue.add(id);
    if (this.boxesScheduled) return;
    this.boxesScheduled = true;
    afterNextFrame(() => {
      this.boxesScheduled = false;
      const due = [...this.boxesDue];
      this.boxesDue.clear();
      for (const id of due) this.drawBoxes(id);
    });
  }

  private drawBoxes(id: number): void {
    const tile = this.tileOf(id);
    const item = tile && this.items.find((i) => i.id === id);
    if (!tile || !item) return;
    tile.querySelector(".ed-tile-boxes")?.remove();
    const boxes = this.host.annotations(id)?.boxes;
    if (!boxes?.length) return;
    // The thumbnail is cropped to the tile (object-fit: cover); "slice" crops the drawing the same way.
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "ed-tile-boxes");
    svg.setAttribute("viewBox", `0 0 ${item.width} ${item.height}`);
    svg.setAttribute("preserveAspectRatio", "xMidYMid slice");
    svg.setAttribute("aria-hidden", "true");
    for (const box of boxes) {
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", String(box.x * item.width));
      rect.setAttribute("y", String(box.y * item.height));
      rect.setAttribute("width", String((box.x2 - box.x) * item.width));
      rect.setAttribute("height", String((box.y2 - box.y) * item.height));
      rect.setAttribute("stroke", this.host.colour(box.label));
      rect.setAttribute("data-label", String(box.label));
      svg.append(rect);
    }
    tile.querySelector("img")!.after(svg);
  }

  /** The server's new state of an image: its tile's status and labels follow. */
  update(doc: { image: number; status: string; version: number; labels: number[]; negative: boolean }): void {
    const item = this.items.find((i) => i.id === doc.image);
    if (item) Object.assign(item, { status: doc.status, version: doc.version, labels: doc.labels, negative: doc.negative });
    this.refreshTile(doc.image);
  }

  /** Redraw one tile after its status or labels changed. */
  refreshTile(id: number): void {
    const item = this.items.find((i) => i.id === id);
    const tile = this.tileOf(id);
    if (!item || !tile) return;
    const badge = tile.querySelector(".badge")!;
    badge.className = `badge status-${item.status}`;
    badge.textContent = item.status;
    this.host.decorate(tile, item);
    this.drawBoxesSoon(id);
  }

  /** Show who is on which image: small avatars on the tiles. */
  setPeople(byImage: Map<number, Person[]>): void {
    for (const spot of this.list.querySelectorAll(".ed-people")) spot.replaceChildren();
    for (const [id, people] of byImage) {
      this.tileOf(id)?.querySelector(".ed-people")?.append(...people.map((p) => avatar(p, "small")));
    }
  }

  remove(id: number): void {
    this.items = this.items.filter((i) => i.id !== id);
    this.tileOf(id)?.remove();
  }
}

/** The filter buttons and their live counts. */
export class Filters {
  constructor(
    private root: HTMLElement,
    private apiBase: string,
    onChange: (filter: string) => void,
  ) {
    root.addEventListener("click", (event) => {
      const button = (event.target as HTMLElement).closest<HTMLButtonElement>("button[data-filter]");
      if (!button) return;
      for (const b of root.querySelectorAll("button[data-filter]")) b.classList.toggle("active", b === button);
      onChange(button.dataset.filter ?? "");
    });
  }

  active(): string {
    return this.root.querySelector<HTMLElement>("button.active")?.dataset.filter ?? "";
  }

  async refresh(labels: Label[]): Promise<void> {
    const counts = await api<Counts>(`${this.apiBase}images/counts/`);
    const active = this.active();
    for (const node of this.root.querySelectorAll<HTMLElement>("[data-count]")) {
      const name = node.dataset.count!;
      const n = name === "all" ? counts.all : name === "annotated" ? counts.annotated : counts.status[name];
      node.textContent = String(n ?? 0);
    }
    $("#strip-label-filters", this.root).replaceChildren(
      ...labels.map((label) => {
        const swatch = el("span", { class: "swatch" });
        swatch.style.background = label.color;
        const filter = `label=${label.id}`;
        const count = el("span", { class: "count" }, String(counts.labels[String(label.id)] ?? 0));
        const button = el("button", { type: "button", "data-filter": filter }, swatch, label.name, " ", count);
        button.classList.toggle("active", active === filter);
        return button;
      }),
    );
  }
}
