// Pointer input on the stage: draw, select, move, resize (handles), pan and wheel zoom.
// A gesture edits a working copy drawn on the overlay; only pointer-up commits an op, so
// remote changes that arrive meanwhile never disturb the drag.

import { clampBox, uuid } from "./doc";
import { HANDLE_PX, HANDLES, type Handle, handlePoint } from "./render";
import type { Box, Doc, Op } from "./types";
import type { View } from "./view";

const MIN_BOX_PX = 4;
const DRAFT_EVERY_MS = 100;

export interface PointerHost {
  doc(): Doc | null;
  canEdit(): boolean;
  activeLabel(): number | null;
  selected(): ReadonlySet<string>;
  select(id: string | null, toggle?: boolean): void;
  commit(ops: Op[]): void;
  setWorking(box: Box | null): void;
  setHover(id: string | null, cursor: [number, number] | null): void;
  viewChanged(): void;
  /** Space is held: a left drag pans (and Space then does not move to the next image). */
  spacePan(): boolean;
  draft(boxes: Box[]): void;
  noLabel(): void;
}

/** The model's suggestions under the pointer (editor/suggestions.ts). */
export interface SuggestionPointer {
  at(nx: number, ny: number): { id: number } | null;
  /** A click (not a drag) on a suggestion: accept it, or only select it for a viewer. */
  click(id: number): void;
}

type Gesture =
  | { kind: "pan"; x: number; y: number }
  // A drag that starts on a suggestion draws a box; a click there (no box drawn) accepts it.
  | { kind: "draw"; from: [number, number]; box: Box | null; suggestion: number | null }
  | { kind: "move"; start: [number, number]; origin: Box; box: Box }
  | { kind: "resize"; handle: Handle; origin: Box; box: Box };

export class PointerInput {
  private gesture: Gesture | null = null;
  private rect: DOMRect;
  private lastDraft = 0;

  constructor(
    private stage: HTMLElement,
    private view: View,
    private host: PointerHost,
    private suggestions: SuggestionPointer | null = null,
  ) {
    this.rect = stage.getBoundingClientRect();
    stage.addEventListener("pointerdown", (e) => this.down(e));
    stage.addEventListener("pointermove", (e) => this.move(e));
    stage.addEventListener("pointerup", (e) => this.up(e));
    stage.addEventListener("pointercancel", () => this.cancel());
    stage.addEventListener("pointerleave", () => this.gesture || host.setHover(null, null));
    stage.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    stage.addEventListener("auxclick", (e) => e.preventDefault());
    new ResizeObserver(() => (this.rect = stage.getBoundingClientRect())).observe(stage);
  }

  busy(): boolean {
    return this.gesture !== null;
  }

  /** Abandon the gesture in progress (Esc): nothing is committed. */
  cancel(): void {
    if (this.gesture && this.gesture.kind !== "pan") {
      this.host.setWorking(null);
      this.host.draft([]);
    }
    this.gesture = null;
  }

  private point(e: PointerEvent | WheelEvent): [number, number] {
    return [e.clientX - this.rect.left, e.clientY - this.rect.top];
  }

  private handleAt(box: Box, sx: number, sy: number): Handle | null {
    for (const handle of HANDLES) {
      const [hx, hy] = this.view.toScreen(...handlePoint(box, handle));
      if (Math.abs(hx - sx) <= HANDLE_PX + 2 && Math.abs(hy - sy) <= HANDLE_PX + 2) return handle;
    }
    return null;
  }

  /** The smallest box under the point, so a box inside another stays reachable. */
  private boxAt(nx: number, ny: number): Box | null {
    let best: Box | null = null;
    let bestArea = Infinity;
    for (const box of this.host.doc()?.boxes ?? []) {
      if (nx < box.x || nx > box.x2 || ny < box.y || ny > box.y2) continue;
      const area = (box.x2 - box.x) * (box.y2 - box.y);
      if (area < bestArea) [best, bestArea] = [box, area];
    }
    return best;
  }

  private selectedHandle(sx: number, sy: number): { box: Box; handle: Handle } | null {
    const selected = this.host.selected();
    for (const box of this.host.doc()?.boxes ?? []) {
      if (!selected.has(box.id)) continue;
      const handle = this.handleAt(box, sx, sy);
      if (handle) return { box, handle };
    }
    return null;
  }

  private down(e: PointerEvent): void {
    this.stage.focus({ preventScroll: true });
    const [sx, sy] = this.point(e);
    const pan = e.button === 1 || (e.button === 0 && (this.host.spacePan() || !this.host.canEdit()));
    if (e.button !== 0 && !pan) return;
    this.stage.setPointerCapture(e.pointerId);
    e.preventDefault();
    if (pan && (e.button === 1 || this.host.spacePan())) {
      this.gesture = { kind: "pan", x: sx, y: sy };
      return;
    }
    const [nx, ny] = this.view.toNorm(sx, sy);
    const grip = this.host.canEdit() ? this.selectedHandle(sx, sy) : null;
    if (grip) {
      this.gesture = { kind: "resize", handle: grip.handle, origin: grip.box, box: grip.box };
      return;
    }
    const hit = this.boxAt(nx, ny);
    if (hit) {
      this.host.select(hit.id, e.ctrlKey || e.metaKey || e.shiftKey);
      if (this.host.canEdit()) this.gesture = { kind: "move", start: [nx, ny], origin: hit, box: hit };
      return;
    }
    this.host.select(null);
    const suggested = this.suggestions?.at(nx, ny)?.id ?? null;
    if (!this.host.canEdit()) {
      if (suggested !== null) this.suggestions!.click(suggested);
      this.gesture = { kind: "pan", x: sx, y: sy };
      return;
    }
    if (this.host.activeLabel() === null) {
      if (suggested !== null) {
        this.suggestions!.click(suggested);
        return;
      }
      this.host.noLabel();
      return;
    }
    const c = (v: number) => Math.min(1, Math.max(0, v));
    this.gesture = { kind: "draw", from: [c(nx), c(ny)], box: null, suggestion: suggested };
  }

  private move(e: PointerEvent): void {
    const [sx, sy] = this.point(e);
    const g = this.gesture;
    if (!g) {
      const [nx, ny] = this.view.toNorm(sx, sy);
      const grip = this.host.canEdit() ? this.selectedHandle(sx, sy) : null;
      const hit = grip ? grip.box : this.boxAt(nx, ny);
      const suggested = !hit && this.suggestions?.at(nx, ny);
      this.stage.dataset.cursor = grip ? `resize-${grip.handle}` : hit ? "move" : suggested ? "suggestion" : "draw";
      this.host.setHover(hit?.id ?? null, [sx, sy]);
      return;
    }
    if (g.kind === "pan") {
      this.view.pan(sx - g.x, sy - g.y);
      [g.x, g.y] = [sx, sy];
      this.host.viewChanged();
      return;
    }
    const [nx, ny] = this.view.toNorm(sx, sy);
    g.box = this.shaped(g, nx, ny);
    this.host.setWorking(g.box);
    this.host.setHover(null, [sx, sy]);
    if (e.timeStamp - this.lastDraft > DRAFT_EVERY_MS) {
      this.lastDraft = e.timeStamp;
      this.host.draft([g.box]);
    }
  }

  private shaped(g: Exclude<Gesture, { kind: "pan" }>, nx: number, ny: number): Box {
    if (g.kind === "draw") {
      const label = this.host.activeLabel()!;
      const id = g.box?.id ?? uuid();
      return clampBox({ id, label, x: g.from[0], y: g.from[1], x2: nx, y2: ny });
    }
    if (g.kind === "move") {
      const o = g.origin;
      const dx = Math.min(1 - o.x2, Math.max(-o.x, nx - g.start[0]));
      const dy = Math.min(1 - o.y2, Math.max(-o.y, ny - g.start[1]));
      return { ...o, x: o.x + dx, y: o.y + dy, x2: o.x2 + dx, y2: o.y2 + dy };
    }
    const b = { ...g.origin };
    if (g.handle.includes("w")) b.x = nx;
    if (g.handle.includes("e")) b.x2 = nx;
    if (g.handle.includes("n")) b.y = ny;
    if (g.handle.includes("s")) b.y2 = ny;
    return clampBox(b);
  }

  private up(e: PointerEvent): void {
    const g = this.gesture;
    this.gesture = null;
    if (this.stage.hasPointerCapture(e.pointerId)) this.stage.releasePointerCapture(e.pointerId);
    if (!g || g.kind === "pan") return;
    this.host.setWorking(null);
    this.host.draft([]);
    const box = g.box;
    if (g.kind === "draw" && g.suggestion !== null && !this.bigEnough(box)) {
      this.suggestions!.click(g.suggestion);
      return;
    }
    if (!box) return;
    const big = this.bigEnough(box);
    if (g.kind === "draw") {
      if (!big) return;
      this.host.commit([{ t: "add", box }]);
      this.host.select(box.id);
      return;
    }
    const o = g.origin;
    const moved = box.x !== o.x || box.y !== o.y || box.x2 !== o.x2 || box.y2 !== o.y2;
    if (moved && big) this.host.commit([{ t: "upd", box }]);
  }

  private bigEnough(box: Box | null): boolean {
    if (!box) return false;
    const [px, py] = this.view.pixel();
    return (box.x2 - box.x) / px >= MIN_BOX_PX && (box.y2 - box.y) / py >= MIN_BOX_PX;
  }

  private wheel(e: WheelEvent): void {
    e.preventDefault();
    const [sx, sy] = this.point(e);
    this.view.zoomAt(Math.exp(-e.deltaY * 0.0015), sx, sy);
    this.host.viewChanged();
  }
}
