// Classification projects: a grid where images are selected (click, Shift-range,
// Ctrl/Cmd-toggle, Ctrl+A) and labelled in bulk by clicking a label or pressing its number,
// plus a single-image view (Enter or double-click) with the same keys.

import type { ImageItem, Label } from "../lib/api";
import { el } from "../lib/dom";
import type { Labels } from "./labels";
import type { Strip } from "./strip";
import type { Doc, Op } from "./types";

export interface ClassifyHost {
  /** The image as the user sees it (server state plus unsaved edits). */
  local(item: ImageItem): Doc;
  editImage(item: ImageItem, ops: Op[]): void;
  showSingle(item: ImageItem): void;
  showGrid(): void;
  current(): ImageItem | null;
  canEdit(): boolean;
  notify(message: string, kind?: "info" | "warn" | "error"): void;
}

export class Classifier {
  private chosen = new Set<number>();
  private anchor = -1;
  private focus = -1;
  single = false;

  constructor(
    private host: ClassifyHost,
    private strip: Strip,
    private labels: Labels,
  ) {}

  click(item: ImageItem, event: MouseEvent): void {
    const at = this.strip.index(item.id);
    if (event.detail === 2) {
      this.host.showSingle(item);
      return;
    }
    if (event.shiftKey && this.anchor >= 0) {
      const [from, to] = [Math.min(this.anchor, at), Math.max(this.anchor, at)];
      if (!(event.ctrlKey || event.metaKey)) this.chosen.clear();
      for (const i of this.strip.items.slice(from, to + 1)) this.chosen.add(i.id);
    } else if (event.ctrlKey || event.metaKey) {
      if (!this.chosen.delete(item.id)) this.chosen.add(item.id);
      this.anchor = at;
    } else {
      this.chosen = new Set([item.id]);
      this.anchor = at;
    }
    this.focus = at;
    this.paint();
  }

  selectAll(): void {
    this.chosen = new Set(this.strip.items.map((i) => i.id));
    this.paint();
    this.host.notify(`${this.chosen.size} loaded images selected.`);
  }

  clear(): void {
    this.chosen.clear();
    this.paint();
  }

  /** Arrow keys in the grid move the focus (Shift extends the selection). */
  move(step: number, extend: boolean): void {
    const items = this.strip.items;
    if (!items.length) return;
    this.focus = Math.min(items.length - 1, Math.max(0, (this.focus < 0 ? -1 : this.focus) + step));
    const item = items[this.focus];
    if (extend && this.anchor >= 0) {
      const [from, to] = [Math.min(this.anchor, this.focus), Math.max(this.anchor, this.focus)];
      this.chosen = new Set(items.slice(from, to + 1).map((i) => i.id));
    } else {
      this.chosen = new Set([item.id]);
      this.anchor = this.focus;
    }
    this.paint();
    this.strip.tileOf(item.id)?.scrollIntoView({ block: "nearest" });
  }

  focused(): ImageItem | null {
    return this.strip.items[this.focus] ?? null;
  }

  /** A label for the targets: the selection in the grid, the shown image in single view.
   *  If every target already has exactly this label, pressing it again takes it off. */
  apply(label: Label): void {
    if (!this.host.canEdit()) return;
    const current = this.host.current();
    const targets = this.single
      ? current ? [current] : []
      : this.strip.items.filter((i) => this.chosen.has(i.id));
    if (!targets.length) {
      this.host.notify("Select images first (click, Shift-click, Ctrl-click or Ctrl+A).", "warn");
      return;
    }
    const all = targets.every((i) => {
      const labels = this.host.local(i).labels;
      return labels.length === 1 && labels[0] === label.id;
    });
    for (const item of targets) this.host.editImage(item, [{ t: "cls", labels: all ? [] : [label.id] }]);
    if (!this.single && targets.length > 1) {
      this.host.notify(`${all ? "Removed" : "Applied"} “${label.name}” on ${targets.length} images.`);
    }
  }

  /** Label chips and the selection state on a grid tile. */
  decorate(tile: HTMLElement, item: ImageItem): void {
    const doc = this.host.local(item);
    const chips = doc.labels.map((id) => {
      const label = this.labels.byId.get(id);
      const chip = el("span", { class: "ed-chip" }, label?.name ?? "…");
      if (label) chip.style.background = label.color;
      return chip;
    });
    if (doc.negative) chips.push(el("span", { class: "ed-chip negative" }, "no objects"));
    let holder = tile.querySelector(".ed-chips");
    if (!holder) {
      holder = el("span", { class: "ed-chips" });
      tile.append(holder);
    }
    holder.replaceChildren(...chips);
    tile.classList.toggle("selected", this.chosen.has(item.id));
    tile.setAttribute("aria-selected", String(this.chosen.has(item.id)));
  }

  private paint(): void {
    for (const item of this.strip.items) {
      const tile = this.strip.tileOf(item.id);
      if (tile) this.decorate(tile, item);
    }
    const focused = this.focused();
    for (const tile of document.querySelectorAll(".ed-tile.focused")) tile.classList.remove("focused");
    if (focused) this.strip.tileOf(focused.id)?.classList.add("focused");
  }
}
