// Choosing several images in the grid and acting on them at once: each tile's checkbox,
// Shift-click for the range from the last one clicked, "Select all in filter" (the server
// answers the ids, up to one request's worth), then delete (after a confirmation), mark
// "no objects" or send to review: one request each, one transaction on the server.

import { api, ApiError } from "../lib/api";
import { $ } from "../lib/dom";

export interface SelectionHost {
  /** The grid's current filter as a query string ("" for all). */
  filter(): string;
  /** Ask before a destructive action; true to go ahead. */
  confirm(text: string, action: string): Promise<boolean>;
  /** The images changed: counts and grid follow. */
  dataChanged(): void;
}

interface BulkResult {
  done: number[];
  skipped: { id: number; code: string; message: string }[];
}

const VERBS: Record<string, string> = {
  delete: "Deleted",
  "no-objects": "Marked “no objects”:",
  "send-to-review": "Sent to review:",
};

const images = (n: number) => `${n} image${n === 1 ? "" : "s"}`;

export class Selection {
  readonly ids = new Set<number>();
  private anchor: number | null = null;
  private readonly bar = $("#bulk-bar");
  private readonly message = $("#bulk-message");
  readonly enabled: boolean;

  constructor(
    private apiBase: string,
    private grid: HTMLElement,
    private host: SelectionHost,
  ) {
    this.enabled = this.bar.querySelector("[data-bulk]") !== null;
    if (!this.enabled) return;
    this.bar.hidden = false;
    grid.addEventListener("click", (event) => this.clicked(event as MouseEvent));
    $("#bulk-clear").addEventListener("click", () => this.clear());
    $("#bulk-select-all").addEventListener("click", () => void this.selectAll());
    for (const button of this.bar.querySelectorAll<HTMLButtonElement>("[data-bulk]")) {
      button.addEventListener("click", () => void this.run(button.dataset.bulk!));
    }
    this.update();
  }

  private checkboxes(): HTMLInputElement[] {
    return [...this.grid.querySelectorAll<HTMLInputElement>("input.tile-check")];
  }

  private clicked(event: MouseEvent): void {
    const box = event.target as HTMLInputElement;
    if (!box.classList?.contains("tile-check")) return;
    const id = Number(box.dataset.imageId);
    const all = this.checkboxes();
    const from = all.findIndex((b) => Number(b.dataset.imageId) === this.anchor);
    const to = all.indexOf(box);
    const range = event.shiftKey && from >= 0 ? all.slice(Math.min(from, to), Math.max(from, to) + 1) : [box];
    for (const b of range) {
      b.checked = box.checked;
      this.toggle(Number(b.dataset.imageId), box.checked);
    }
    this.anchor = id;
    this.say("");
    this.update();
  }

  private toggle(id: number, on: boolean): void {
    if (on) this.ids.add(id);
    else this.ids.delete(id);
    this.grid.querySelector(`[data-image-id="${id}"]`)?.classList.toggle("selected", on);
  }

  /** A tile was (re)drawn: show whether it is selected. */
  drawn(tile: HTMLElement, id: number): void {
    const box = tile.querySelector<HTMLInputElement>("input.tile-check");
    if (box) box.checked = this.ids.has(id);
    tile.classList.toggle("selected", this.ids.has(id));
  }

  /** An image went away (deleted here or by someone else). */
  forget(id: number): void {
    this.ids.delete(id);
    this.update();
  }

  clear(): void {
    for (const id of [...this.ids]) this.toggle(id, false);
    for (const box of this.checkboxes()) box.checked = false;
    this.anchor = null;
    this.update();
  }

  private update(): void {
    $("#bulk-count").textContent = `${images(this.ids.size)} selected`;
    for (const button of this.bar.querySelectorAll<HTMLButtonElement>("[data-bulk], #bulk-clear")) {
      button.disabled = this.ids.size === 0;
    }
  }

  private say(text: string, kind: "info" | "error" = "info"): void {
    this.message.textContent = text;
    this.message.classList.toggle("error", kind === "error");
  }

  private async selectAll(): Promise<void> {
    const filter = this.host.filter();
    const answer = await api<{ ids: number[]; total: number }>(`${this.apiBase}images/ids/${filter ? `?${filter}` : ""}`);
    for (const id of answer.ids) this.toggle(id, true);
    for (const box of this.checkboxes()) box.checked = this.ids.has(Number(box.dataset.imageId));
    this.say(
      answer.total > answer.ids.length
        ? `Selected the first ${answer.ids.length} of ${answer.total}: act on them, then select again for the rest.`
        : "",
    );
    this.update();
  }

  private async run(action: string): Promise<void> {
    const ids = [...this.ids];
    if (!ids.length) return;
    if (action === "delete") {
      const text = `Delete ${images(ids.length)}? Their annotations and review history go with them; this cannot be undone.`;
      if (!(await this.host.confirm(text, `Delete ${images(ids.length)}`))) return;
    }
    try {
      const result = await api<BulkResult>(`${this.apiBase}images/bulk/${action}/`, {
        method: "POST",
        body: JSON.stringify({ ids }),
      });
      for (const id of result.done) this.toggle(id, false);
      const skipped = result.skipped.length ? `; ${result.skipped.length} left as they were (${result.skipped[0].message})` : "";
      this.say(`${VERBS[action]} ${images(result.done.length)}${skipped}.`);
    } catch (error) {
      if (error instanceof ApiError && Array.isArray(error.body?.error?.deleted)) {
        for (const id of error.body.error.deleted) this.toggle(id, false);
      }
      this.say(error instanceof ApiError ? error.message : "Nothing was changed; try again.", "error");
    }
    this.update();
    this.host.dataChanged();
  }
}
