// The model's suggestions for the shown image (issue #12): pending boxes drawn dashed under the
// person's boxes, or the suggested class highlighted in the label list, with a threshold slider.
//
// Accepting is an ordinary edit: a box whose id is the suggestion's uid (or the suggested class)
// goes through the editor's undo history and versioned save, and the server learns from that uid
// that the suggestion was accepted. So nothing here writes annotations itself, and a suggestion
// whose uid is already a box in the document is not shown (accepted, even before the save lands).
// Rejecting posts to the reject endpoint; the suggestion is hidden at once and comes back if the
// request fails.

import { api, ApiError } from "../lib/api";
import { $ } from "../lib/dom";
import type { Doc, Op } from "./types";

export interface Suggestion {
  id: number;
  uid: string;
  label: number;
  label_name: string;
  score: number;
  box: { x: number; y: number; x2: number; y2: number } | null;
  status: string;
}

interface Answer {
  run: number | null;
  threshold: number;
  kind: string;
  suggestions: Suggestion[];
}

export interface SuggestionHost {
  doc(): Doc | null;
  canEdit(): boolean;
  /** An undoable, autosaved edit of the shown image. */
  edit(ops: Op[]): void;
  /** The layer changed: redraw the canvas and the label list (never calls back into paint). */
  changed(): void;
  notify(message: string, kind?: "info" | "warn" | "error"): void;
}

export class Suggestions {
  private image: number | null = null;
  private all: Suggestion[] = [];
  private run: number | null = null;
  private defaultThreshold = 0.5;
  /** Rejected here while the request is under way. */
  private hiding = new Set<number>();
  private loads = 0;
  selected: number | null = null;
  private slider: HTMLInputElement;

  constructor(
    private apiBase: string,
    private storageKey: string,
    private panel: HTMLElement,
    private host: SuggestionHost,
  ) {
    this.slider = $("#suggestion-threshold", panel) as HTMLInputElement;
    this.slider.addEventListener("input", () => this.setThreshold(Number(this.slider.value)));
    panel.addEventListener("click", (event) => {
      const command = (event.target as HTMLElement).closest<HTMLButtonElement>("button[data-suggestions]");
      if (command?.dataset.suggestions === "accept") this.acceptShown();
      else if (command?.dataset.suggestions === "reject") void this.rejectShown();
    });
  }

  /** The slider's value: the person's choice for this project, else the run's suggested threshold. */
  get threshold(): number {
    const stored = this.stored();
    return stored ?? this.defaultThreshold;
  }

  private stored(): number | null {
    try {
      const raw = localStorage.getItem(this.storageKey);
      const value = raw === null ? NaN : Number(raw);
      return Number.isFinite(value) && value >= 0 && value <= 1 ? value : null;
    } catch {
      return null;
    }
  }

  private setThreshold(value: number): void {
    try {
      localStorage.setItem(this.storageKey, String(value));
    } catch {
      // storage disabled: the slider still works for this page
    }
    if (this.selected !== null && !this.shown().some((s) => s.id === this.selected)) this.selected = null;
    this.paint();
  }

  /** Fetch the suggestions of `image` (or forget them: null). A late answer for another image is dropped. */
  async load(image: number | null): Promise<void> {
    if (image !== this.image) {
      this.all = [];
      this.selected = null;
      this.hiding.clear();
      this.image = image;
      this.paint();
    }
    if (image === null) return;
    const mine = ++this.loads;
    let answer: Answer;
    try {
      answer = await api<Answer>(`${this.apiBase}images/${image}/suggestions/`);
    } catch (error) {
      // Suggestions help; the image is usable without them. A missing image is reported by the editor.
      if (!(error instanceof ApiError && error.status === 404) && mine === this.loads) {
        this.host.notify("The model's suggestions could not be loaded.", "warn");
      }
      return;
    }
    if (mine !== this.loads || image !== this.image) return;
    this.run = answer.run;
    this.defaultThreshold = answer.threshold;
    this.all = answer.suggestions.filter((s) => s.status === "pending");
    if (this.selected !== null && !this.all.some((s) => s.id === this.selected)) this.selected = null;
    this.paint();
  }

  reload(): Promise<void> {
    return this.load(this.image);
  }

  /** Pending suggestions at or above the threshold, not rejected or accepted here, best first. */
  shown(): Suggestion[] {
    if (!this.all.length) return []; // the common case, asked on every frame and pointer move
    const doc = this.host.doc();
    const boxes = new Set(doc?.boxes.map((b) => b.id));
    const threshold = this.threshold;
    return this.all.filter(
      (s) =>
        s.score >= threshold &&
        !this.hiding.has(s.id) &&
        !boxes.has(s.uid) &&
        !(s.box === null && doc?.labels.includes(s.label)),
    );
  }

  private pending(): Suggestion[] {
    const boxes = new Set(this.host.doc()?.boxes.map((b) => b.id));
    return this.all.filter((s) => !this.hiding.has(s.id) && !boxes.has(s.uid));
  }

  /** The class suggestion to highlight in the label list (classification projects). */
  topClass(): Suggestion | null {
    return this.shown().find((s) => s.box === null) ?? null;
  }

  any(): boolean {
    return this.shown().length > 0;
  }

  select(id: number | null): void {
    if (id === this.selected) return;
    this.selected = id;
    this.paint();
  }

  /** The smallest shown box suggestion under a point (normalised), like the editor's own boxes. */
  at(nx: number, ny: number): Suggestion | null {
    let best: Suggestion | null = null;
    let bestArea = Infinity;
    for (const s of this.shown()) {
      const b = s.box;
      if (!b || nx < b.x || nx > b.x2 || ny < b.y || ny > b.y2) continue;
      const area = (b.x2 - b.x) * (b.y2 - b.y);
      if (area < bestArea) [best, bestArea] = [s, area];
    }
    return best;
  }

  /** The suggestion A and X act on: the selected one, else the most confident one shown. */
  private target(): Suggestion | null {
    const shown = this.shown();
    return shown.find((s) => s.id === this.selected) ?? shown[0] ?? null;
  }

  accept(suggestions: Suggestion[]): void {
    if (!this.host.canEdit() || !suggestions.length) return;
    const classes = suggestions.filter((s) => s.box === null);
    const ops: Op[] = suggestions
      .filter((s) => s.box !== null)
      .map((s) => ({ t: "add", box: { id: s.uid, label: s.label, ...s.box! } }));
    // A class suggestion makes its class the image's label, as picking the class would.
    if (classes.length) ops.push({ t: "cls", labels: [classes[0].label] });
    if (this.selected !== null && suggestions.some((s) => s.id === this.selected)) this.selected = null;
    this.host.edit(ops);
    this.paint();
  }

  acceptOne(): void {
    const target = this.target();
    if (target) this.accept([target]);
  }

  acceptShown(): void {
    const shown = this.shown();
    // Classifiers: only the top class, since an image gets one class.
    this.accept(shown.some((s) => s.box === null) ? [this.topClass()!] : shown);
  }

  rejectOne(): Promise<void> {
    const target = this.target();
    return target ? this.reject([target.id]) : Promise.resolve();
  }

  rejectShown(): Promise<void> {
    return this.reject(this.shown().map((s) => s.id));
  }

  async reject(ids: number[]): Promise<void> {
    const image = this.image;
    if (!this.host.canEdit() || !ids.length || image === null) return;
    for (const id of ids) this.hiding.add(id);
    if (this.selected !== null && ids.includes(this.selected)) this.selected = null;
    this.paint();
    try {
      await api(`${this.apiBase}images/${image}/suggestions/reject/`, { method: "POST", body: JSON.stringify({ ids }) });
    } catch (error) {
      if (image !== this.image) return;
      for (const id of ids) this.hiding.delete(id);
      this.paint();
      const reason = error instanceof ApiError ? error.message : "Check the connection and try again.";
      this.host.notify(`The suggestions were not rejected: ${reason}`, "error");
      return;
    }
    if (image !== this.image) return;
    this.all = this.all.filter((s) => !ids.includes(s.id));
    for (const id of ids) this.hiding.delete(id);
  }

  /** The side panel: slider, how many are shown and hidden. Called whenever the layer changes. */
  paint(): void {
    const panel = this.panel;
    panel.hidden = this.image === null || this.run === null;
    const threshold = this.threshold;
    if (document.activeElement !== this.slider) this.slider.value = String(threshold);
    $("#suggestion-threshold-value", panel).textContent = threshold.toFixed(2);
    const pending = this.pending();
    const shown = this.shown();
    const below = pending.filter((s) => s.score < threshold).length;
    $("#suggestion-count", panel).textContent = String(shown.length);
    const note = $("#suggestion-hidden", panel);
    note.textContent = below ? `${below} below ${threshold.toFixed(2)} hidden` : "";
    for (const button of panel.querySelectorAll<HTMLButtonElement>("button[data-suggestions]")) {
      button.disabled = !shown.length || !this.host.canEdit();
    }
    panel.dataset.shown = String(shown.length);
    panel.dataset.hidden = String(below);
    this.host.changed();
  }
}
