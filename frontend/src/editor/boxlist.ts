// The list of the shown image's boxes: label and size in image pixels. A click selects
// (Ctrl/Shift-click adds), ↑/↓ move the selection, Delete removes. It is rebuilt when the
// annotations change and restyled when the selection does, at most once per frame and after
// it, never from the drawing loop: dragging a box costs the list nothing until it is dropped.

import type { Label } from "../lib/api";
import { el } from "../lib/dom";
import type { Box, Doc } from "./types";
import { afterNextFrame } from "./ui";

export interface BoxListHost {
  doc(): Doc | null;
  /** The shown image's size in pixels (boxes are stored normalised). */
  size(): [number, number] | null;
  labels(): Map<number, Label>;
  selected(): ReadonlySet<string>;
  select(id: string | null, toggle?: boolean): void;
  deleteSelected(): void;
  /** Give the keyboard back to the stage. */
  done(): void;
}

export class BoxList {
  private rebuildDue = false;
  private restyleDue = false;
  private scheduled = false;

  constructor(
    private list: HTMLElement,
    private count: HTMLElement,
    private host: BoxListHost,
  ) {
    list.addEventListener("click", (event) => {
      const row = (event.target as HTMLElement).closest<HTMLElement>("[data-box-id]");
      if (!row) return;
      host.select(row.dataset.boxId!, event.ctrlKey || event.metaKey || event.shiftKey);
      list.focus({ preventScroll: true });
    });
    list.addEventListener("keydown", (event) => this.key(event));
  }

  /** The annotations changed (or the image, or label names): rebuild soon. */
  changed(): void {
    this.rebuildDue = true;
    this.schedule();
  }

  /** The selection changed: restyle soon. */
  selectionChanged(): void {
    this.restyleDue = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    afterNextFrame(() => {
      this.scheduled = false;
      if (this.rebuildDue) this.rebuild();
      else if (this.restyleDue) this.restyle();
      this.rebuildDue = this.restyleDue = false;
    });
  }

  private rebuild(): void {
    const boxes = this.host.doc()?.boxes ?? [];
    const size = this.host.size();
    const labels = this.host.labels();
    const rows = boxes.map((box) => this.row(box, size, labels.get(box.label)));
    this.list.replaceChildren(...rows);
    this.count.textContent = String(boxes.length);
    this.restyle();
  }

  private row(box: Box, size: [number, number] | null, label: Label | undefined): HTMLElement {
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = label?.color || "#888888";
    const [w, h] = size ?? [0, 0];
    const dims = size ? `${Math.round((box.x2 - box.x) * w)} × ${Math.round((box.y2 - box.y) * h)} px` : "";
    return el(
      "li",
      { "data-box-id": box.id, id: `box-${box.id}`, role: "option" },
      swatch,
      el("span", { class: "ed-box-label" }, label?.name ?? "…"),
      el("span", { class: "ed-box-size" }, dims),
    );
  }

  private restyle(): void {
    const selected = this.host.selected();
    let first: HTMLElement | null = null;
    for (const row of this.list.children as HTMLCollectionOf<HTMLElement>) {
      const on = selected.has(row.dataset.boxId!);
      row.classList.toggle("selected", on);
      row.setAttribute("aria-selected", String(on));
      if (on && !first) first = row;
    }
    if (first) {
      this.list.setAttribute("aria-activedescendant", first.id);
      first.scrollIntoView({ block: "nearest" });
    } else {
      this.list.removeAttribute("aria-activedescendant");
    }
  }

  private key(event: KeyboardEvent): void {
    const ids = [...this.list.children].map((row) => (row as HTMLElement).dataset.boxId!);
    const selected = this.host.selected();
    const at = ids.findIndex((id) => selected.has(id));
    let target: number | null = null;
    if (event.key === "ArrowDown") target = at < 0 ? 0 : Math.min(ids.length - 1, at + 1);
    else if (event.key === "ArrowUp") target = at < 0 ? ids.length - 1 : Math.max(0, at - 1);
    else if (event.key === "Home") target = 0;
    else if (event.key === "End") target = ids.length - 1;
    else if (event.key === "Delete" || event.key === "Backspace") this.host.deleteSelected();
    else if (event.key === "Escape") this.host.done();
    else return; // everything else (number keys relabel, Ctrl+Z, …) means what it means on the stage
    event.preventDefault();
    event.stopPropagation();
    if (target !== null && ids[target]) this.host.select(ids[target]);
  }
}
