// Canvas rendering in three layers, each redrawn only when it changed:
//   image   - the picture (zoom/pan only),
//   boxes   - every saved box except the one being dragged (edits, remote changes, selection),
//   overlay - the dragged or drawn box, hover, crosshair and other people's drafts (every move).
// Dragging one box among 500 therefore repaints one box per frame, not 500.
// Label names are drawn with fillText: they are pixels, never markup.

import type { Label } from "../lib/api";
import type { View } from "./view";
import type { Box, Doc } from "./types";

export const HANDLE_PX = 5;
export type Handle = "nw" | "n" | "ne" | "e" | "se" | "s" | "sw" | "w";
export const HANDLES: Handle[] = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

/** Where a handle sits on a box, in normalised coordinates. */
export function handlePoint(box: Box, handle: Handle): [number, number] {
  const x = handle.includes("w") ? box.x : handle.includes("e") ? box.x2 : (box.x + box.x2) / 2;
  const y = handle.includes("n") ? box.y : handle.includes("s") ? box.y2 : (box.y + box.y2) / 2;
  return [x, y];
}

export interface Draft {
  box: Box;
  colour: string;
  name: string;
}

/** A model's pending suggestion, drawn dashed with "label 0.87" (editor/suggestions.ts). */
export interface SuggestedBox {
  box: Box;
  score: number;
  selected: boolean;
}

export interface Scene {
  /** The image whose pixels and annotations are both loaded, else null. */
  imageId: number | null;
  image: HTMLImageElement | null;
  doc: Doc | null;
  labels: Map<number, Label>;
  selected: ReadonlySet<string>;
  /** The box under the pointer's drag: drawn on the overlay, left out of the boxes layer. */
  working: Box | null;
  hover: string | null;
  cursor: [number, number] | null;
  crosshair: boolean;
  drafts: Draft[];
  /** Only the labelling editor shows suggestions. */
  suggestions?: SuggestedBox[];
}

type Layer = "image" | "boxes" | "overlay";

/** The renderer of a page's stage: the three layer canvases the editor's markup names (the editor and the review queue share it). */
export function stageRenderer(stage: HTMLElement, view: View, scene: () => Scene): Renderer {
  const layer = (id: string) => stage.ownerDocument.getElementById(id) as HTMLCanvasElement;
  return new Renderer(
    stage,
    { image: layer("layer-image"), boxes: layer("layer-boxes"), overlay: layer("layer-overlay") },
    view,
    scene,
  );
}

export class Renderer {
  private contexts: Record<Layer, CanvasRenderingContext2D>;
  private dirty = new Set<Layer>();
  private frameRequested = false;
  private announce: number | null = null;
  private dpr = 1;

  constructor(
    private stage: HTMLElement,
    canvases: Record<Layer, HTMLCanvasElement>,
    private view: View,
    private scene: () => Scene,
  ) {
    const ctx = (c: HTMLCanvasElement) => c.getContext("2d", { alpha: true })!;
    this.contexts = { image: ctx(canvases.image), boxes: ctx(canvases.boxes), overlay: ctx(canvases.overlay) };
    // The observer runs after layout and before paint: redrawing there, not a frame later, keeps a
    // resized canvas (which the browser clears) from ever being shown blank.
    new ResizeObserver(() => {
      this.resize();
      this.frame();
    }).observe(stage);
    this.resize();
  }

  /** After the next frame shows image `id` with its boxes, fire `editor:rendered` on the stage. */
  announceWhenDrawn(id: number): void {
    this.announce = id;
    this.invalidate("image", "boxes", "overlay");
  }

  invalidate(...layers: Layer[]): void {
    for (const layer of layers) this.dirty.add(layer);
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => this.frame());
  }

  private resize(): void {
    const rect = this.stage.getBoundingClientRect();
    this.dpr = window.devicePixelRatio || 1;
    this.view.resize(Math.max(1, rect.width), Math.max(1, rect.height));
    for (const ctx of Object.values(this.contexts)) {
      ctx.canvas.width = Math.round(this.view.cw * this.dpr);
      ctx.canvas.height = Math.round(this.view.ch * this.dpr);
    }
    this.invalidate("image", "boxes", "overlay");
  }

  private frame(): void {
    this.frameRequested = false;
    if (!this.dirty.size) return; // a resize already drew what this frame was requested for
    const started = performance.now();
    const scene = this.scene();
    for (const layer of this.dirty) {
      const ctx = this.contexts[layer];
      ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      ctx.clearRect(0, 0, this.view.cw, this.view.ch);
      if (layer === "image") this.drawImage(ctx, scene);
      else if (layer === "boxes") this.drawBoxes(ctx, scene);
      else this.drawOverlay(ctx, scene);
    }
    this.dirty.clear();
    const ms = performance.now() - started;
    this.stage.dispatchEvent(new CustomEvent("editor:frame", { detail: { ms } }));
    if (this.announce !== null && scene.imageId === this.announce && scene.image) {
      this.stage.dataset.rendered = String(this.announce);
      this.stage.dispatchEvent(new CustomEvent("editor:rendered", { detail: { image: this.announce } }));
      this.announce = null;
    }
  }

  private drawImage(ctx: CanvasRenderingContext2D, scene: Scene): void {
    if (!scene.image) return;
    const v = this.view;
    ctx.imageSmoothingEnabled = v.scale < 2;
    ctx.drawImage(scene.image, v.tx, v.ty, v.w * v.scale, v.h * v.scale);
  }

  private colour(scene: Scene, label: number): string {
    return scene.labels.get(label)?.color || "#888888";
  }

  private rect(box: Box): [number, number, number, number] {
    const [x, y] = this.view.toScreen(box.x, box.y);
    const [x2, y2] = this.view.toScreen(box.x2, box.y2);
    return [x, y, x2 - x, y2 - y];
  }

  private drawBoxes(ctx: CanvasRenderingContext2D, scene: Scene): void {
    if (!scene.doc) return;
    const skip = scene.working?.id;
    ctx.lineWidth = 2;
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "top";
    // Under the person's boxes: what people drew always reads on top of what the model proposes.
    for (const { box, score, selected } of scene.suggestions ?? []) this.drawSuggestion(ctx, scene, box, score, selected);
    for (const box of scene.doc.boxes) {
      if (box.id === skip) continue;
      this.drawBox(ctx, scene, box, scene.selected.has(box.id));
    }
  }

  private drawBox(ctx: CanvasRenderingContext2D, scene: Scene, box: Box, selected: boolean, dashed = false): void {
    const colour = this.colour(scene, box.label);
    const [x, y, w, h] = this.rect(box);
    ctx.strokeStyle = colour;
    ctx.lineWidth = selected ? 3 : 2;
    ctx.setLineDash(dashed ? [6, 4] : []);
    ctx.strokeRect(x, y, w, h);
    if (selected) {
      ctx.globalAlpha = 0.15;
      ctx.fillStyle = colour;
      ctx.fillRect(x, y, w, h);
      ctx.globalAlpha = 1;
      this.drawHandles(ctx, box, colour);
    }
    const name = scene.labels.get(box.label)?.name;
    if (name && w > 24) this.drawTag(ctx, name, colour, x, y, w);
  }

  private drawSuggestion(ctx: CanvasRenderingContext2D, scene: Scene, box: Box, score: number, selected: boolean): void {
    const colour = this.colour(scene, box.label);
    const [x, y, w, h] = this.rect(box);
    ctx.strokeStyle = colour;
    ctx.lineWidth = selected ? 3 : 2;
    ctx.setLineDash([6, 4]);
    ctx.strokeRect(x, y, w, h);
    if (selected) {
      ctx.globalAlpha = 0.12;
      ctx.fillStyle = colour;
      ctx.fillRect(x, y, w, h);
      ctx.globalAlpha = 1;
    }
    const name = scene.labels.get(box.label)?.name ?? "";
    this.drawTag(ctx, `${name} ${score.toFixed(2)}`, colour, x, y, w);
  }

  private drawTag(ctx: CanvasRenderingContext2D, text: string, colour: string, x: number, y: number, maxW: number): void {
    ctx.setLineDash([]);
    const width = Math.min(ctx.measureText(text).width + 8, Math.max(maxW, 40));
    const top = y >= 16 ? y - 16 : y;
    ctx.fillStyle = colour;
    ctx.fillRect(x, top, width, 16);
    ctx.fillStyle = "#ffffff";
    ctx.fillText(text, x + 4, top + 2, width - 8);
  }

  private drawHandles(ctx: CanvasRenderingContext2D, box: Box, colour: string): void {
    ctx.setLineDash([]);
    ctx.fillStyle = "#ffffff";
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    for (const handle of HANDLES) {
      const [sx, sy] = this.view.toScreen(...handlePoint(box, handle));
      ctx.fillRect(sx - HANDLE_PX, sy - HANDLE_PX, HANDLE_PX * 2, HANDLE_PX * 2);
      ctx.strokeRect(sx - HANDLE_PX, sy - HANDLE_PX, HANDLE_PX * 2, HANDLE_PX * 2);
    }
  }

  private drawOverlay(ctx: CanvasRenderingContext2D, scene: Scene): void {
    if (scene.crosshair && scene.cursor) this.drawCrosshair(ctx, scene.cursor);
    const hovered = scene.hover && scene.doc?.boxes.find((b) => b.id === scene.hover);
    if (hovered && !scene.selected.has(hovered.id) && hovered.id !== scene.working?.id) {
      const [x, y, w, h] = this.rect(hovered);
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 1;
      ctx.setLineDash([]);
      ctx.strokeRect(x - 2, y - 2, w + 4, h + 4);
    }
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "top";
    for (const draft of scene.drafts) {
      const [x, y, w, h] = this.rect(draft.box);
      ctx.strokeStyle = draft.colour;
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      ctx.strokeRect(x, y, w, h);
      this.drawTag(ctx, draft.name, draft.colour, x, y + h + 16, w);
    }
    if (scene.working) this.drawBox(ctx, scene, scene.working, true);
  }

  private drawCrosshair(ctx: CanvasRenderingContext2D, [cx, cy]: [number, number]): void {
    ctx.strokeStyle = "rgba(255,255,255,0.85)";
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(0, cy + 0.5);
    ctx.lineTo(this.view.cw, cy + 0.5);
    ctx.moveTo(cx + 0.5, 0);
    ctx.lineTo(cx + 0.5, this.view.ch);
    ctx.stroke();
    ctx.setLineDash([]);
  }
}
