// The localization tools: selection, and every box command the mouse and keyboard reach
// (draw/move/resize via PointerInput, delete, nudge, relabel, copy/paste, copy from the
// previous image, "no objects"). Each command becomes ops handed to the editor, which saves
// them and records them for undo.

import type { Label } from "../lib/api";
import { clampBox, uuid } from "./doc";
import type { PointerHost } from "./input";
import type { Box, Doc, Op } from "./types";
import type { View } from "./view";

export interface BoxEditorHost {
  doc(): Doc | null;
  canEdit(): boolean;
  activeLabel(): number | null;
  edit(ops: Op[]): void;
  /** Annotations of an image the user saw before (for "copy from previous"). */
  previousDoc(): Promise<Doc | null>;
  redraw(layers: ("boxes" | "overlay")[]): void;
  /** The set of selected boxes changed (the box list follows). */
  selectionChanged(): void;
  draft(boxes: Box[]): void;
  spacePan(): boolean;
  notify(message: string, kind?: "info" | "warn" | "error"): void;
}

export class BoxTools implements PointerHost {
  private chosen = new Set<string>();
  working: Box | null = null;
  hover: string | null = null;
  cursor: [number, number] | null = null;
  private clipboard: Box[] = [];

  constructor(
    private host: BoxEditorHost,
    private view: View,
  ) {}

  // --- PointerHost ---------------------------------------------------------------

  doc(): Doc | null {
    return this.host.doc();
  }

  canEdit(): boolean {
    return this.host.canEdit();
  }

  activeLabel(): number | null {
    return this.host.activeLabel();
  }

  selected(): ReadonlySet<string> {
    return this.chosen;
  }

  select(id: string | null, toggle = false): void {
    if (!toggle) this.chosen.clear();
    if (id && toggle && this.chosen.has(id)) this.chosen.delete(id);
    else if (id) this.chosen.add(id);
    this.host.redraw(["boxes", "overlay"]);
    this.host.selectionChanged();
  }

  commit(ops: Op[]): void {
    this.host.edit(ops);
  }

  setWorking(box: Box | null): void {
    const started = (box === null) !== (this.working === null);
    this.working = box;
    // The boxes layer changes only when a drag starts or ends (the dragged box leaves or rejoins it).
    this.host.redraw(started ? ["boxes", "overlay"] : ["overlay"]);
  }

  setHover(id: string | null, cursor: [number, number] | null): void {
    this.hover = id;
    this.cursor = cursor;
    this.host.redraw(["overlay"]);
  }

  viewChanged(): void {
    this.host.redraw(["boxes", "overlay"]);
  }

  spacePan(): boolean {
    return this.host.spacePan();
  }

  draft(boxes: Box[]): void {
    this.host.draft(boxes);
  }

  noLabel(): void {
    this.host.notify("Pick or create a label first (type its name in the label box).", "warn");
  }

  // --- commands ------------------------------------------------------------------

  /** Forget the selection when the image changes, or when its boxes disappear remotely. */
  reset(): void {
    this.chosen.clear();
    this.working = null;
    this.hover = null;
    this.host.selectionChanged();
  }

  pruneSelection(): void {
    const ids = new Set(this.host.doc()?.boxes.map((b) => b.id));
    const before = this.chosen.size;
    for (const id of this.chosen) if (!ids.has(id)) this.chosen.delete(id);
    if (this.chosen.size !== before) this.host.selectionChanged();
  }

  private selectedBoxes(): Box[] {
    return this.host.doc()?.boxes.filter((b) => this.chosen.has(b.id)) ?? [];
  }

  hasSelection(): boolean {
    return this.chosen.size > 0;
  }

  deleteSelected(): void {
    const ops: Op[] = this.selectedBoxes().map((b) => ({ t: "del", id: b.id }));
    if (!ops.length || !this.canEdit()) return;
    this.chosen.clear();
    this.host.selectionChanged();
    this.commit(ops);
  }

  /** Arrow keys: move the selection by whole image pixels. */
  nudge(dxPx: number, dyPx: number): void {
    if (!this.canEdit()) return;
    const dx = dxPx / this.view.w;
    const dy = dyPx / this.view.h;
    const ops: Op[] = this.selectedBoxes().map((b) => {
      const mx = Math.min(1 - b.x2, Math.max(-b.x, dx));
      const my = Math.min(1 - b.y2, Math.max(-b.y, dy));
      return { t: "upd", box: { ...b, x: b.x + mx, x2: b.x2 + mx, y: b.y + my, y2: b.y2 + my } };
    });
    if (ops.length) this.commit(ops);
  }

  /** Give the selected boxes a label; true when there was a selection to relabel. */
  relabel(label: Label): boolean {
    const boxes = this.selectedBoxes().filter((b) => b.label !== label.id);
    if (boxes.length && this.canEdit()) this.commit(boxes.map((b) => ({ t: "upd", box: { ...b, label: label.id } })));
    return this.chosen.size > 0;
  }

  copy(): void {
    const boxes = this.selectedBoxes();
    this.clipboard = (boxes.length ? boxes : (this.host.doc()?.boxes ?? [])).map((b) => ({ ...b }));
    if (this.clipboard.length) this.host.notify(`Copied ${this.clipboard.length} box(es).`);
  }

  paste(): void {
    this.place(this.clipboard, "Nothing to paste: copy boxes first (Ctrl+C).");
  }

  async copyPrevious(): Promise<void> {
    const previous = await this.host.previousDoc();
    this.place(previous?.boxes ?? [], previous ? "The previous image has no boxes." : "No previous image yet.");
  }

  /** Add copies of `boxes` (new ids); copies of boxes already here are offset so both show. */
  private place(boxes: Box[], empty: string): void {
    if (!this.canEdit()) return;
    if (!boxes.length) {
      this.host.notify(empty, "warn");
      return;
    }
    const here = this.host.doc()?.boxes ?? [];
    const same = (a: Box, b: Box) => Math.abs(a.x - b.x) < 1e-6 && Math.abs(a.y - b.y) < 1e-6;
    const shift = boxes.some((b) => here.some((h) => same(h, b))) ? 10 / this.view.w : 0;
    const copies = boxes.map((b) => clampBox({ ...b, id: uuid(), x: b.x + shift, x2: b.x2 + shift, y: b.y + shift, y2: b.y2 + shift }));
    this.commit(copies.map((box) => ({ t: "add", box })));
    this.chosen = new Set(copies.map((b) => b.id));
    this.host.redraw(["boxes", "overlay"]);
    this.host.selectionChanged();
  }
}
