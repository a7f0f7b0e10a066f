// The label panel: the project's labels with their colours and number keys, the active
// label, and a type-ahead box where Enter picks the best match or, when the user's role
// allows it, creates the label. Names are inserted as text only.

import { api, ApiError, type Label } from "../lib/api";
import { el } from "../lib/dom";

export interface LabelHost {
  /** A label was chosen (click, number key, type-ahead): make it active, apply it to the selection. */
  picked(label: Label): void;
  notify(message: string, kind?: "info" | "warn" | "error"): void;
  /** Give the keyboard back to the stage or grid. */
  done(): void;
}

export class Labels {
  all: Label[] = [];
  byId = new Map<number, Label>();
  active: number | null = null;
  /** The model's suggested class for the shown image, marked with its probability (classification). */
  suggested: { label: number; score: number } | null = null;
  private highlighted = 0;
  private reloading: Promise<void> | null = null;

  constructor(
    private apiBase: string,
    private list: HTMLElement,
    private input: HTMLInputElement | null,
    private hint: HTMLElement,
    private canCreate: boolean,
    private host: LabelHost,
  ) {
    list.addEventListener("click", (event) => {
      const row = (event.target as HTMLElement).closest<HTMLElement>("[data-label-id], [data-create]");
      if (!row) return;
      if (row.dataset.create !== undefined) void this.create(this.query());
      else this.choose(this.byId.get(Number(row.dataset.labelId))!);
    });
    input?.addEventListener("input", () => {
      this.highlighted = 0;
      this.render();
    });
    input?.addEventListener("keydown", (event) => this.typeahead(event));
  }

  async load(): Promise<void> {
    this.all = await api<Label[]>(`${this.apiBase}labels/`);
    this.byId = new Map(this.all.map((l) => [l.id, l]));
    if (this.active === null || !this.byId.has(this.active)) this.active = this.all[0]?.id ?? null;
    this.render();
  }

  /** Reload when an annotation names a label this tab has not seen (someone just created it). */
  ensure(ids: Iterable<number>): Promise<void> {
    for (const id of ids) {
      if (!this.byId.has(id)) {
        this.reloading ??= this.load().finally(() => (this.reloading = null));
        return this.reloading;
      }
    }
    return Promise.resolve();
  }

  private query(): string {
    return this.input?.value.trim() ?? "";
  }

  private matches(): Label[] {
    const q = this.query().toLowerCase();
    if (!q) return this.all;
    const hits = this.all.filter((l) => l.name.toLowerCase().includes(q));
    return hits.sort((a, b) => Number(!a.name.toLowerCase().startsWith(q)) - Number(!b.name.toLowerCase().startsWith(q)));
  }

  private offerCreate(): boolean {
    const q = this.query();
    return this.canCreate && q !== "" && !this.all.some((l) => l.name.toLowerCase() === q.toLowerCase());
  }

  render(): void {
    const shown = this.matches();
    const rows = shown.map((label, i) => {
      const position = this.all.indexOf(label);
      const key = position < 10 ? String((position + 1) % 10) : "";
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = label.color;
      const row = el(
        "li",
        { "data-label-id": String(label.id), role: "option" },
        el("kbd", {}, key),
        swatch,
        el("span", { class: "ed-label-name" }, label.name),
      );
      if (this.suggested?.label === label.id) {
        const title = "The model's suggestion: Enter accepts it, X rejects it";
        row.append(el("span", { class: "ed-suggested", title }, this.suggested.score.toFixed(2)));
        row.classList.add("suggested");
      }
      row.classList.toggle("active", label.id === this.active);
      row.classList.toggle("highlighted", this.query() !== "" && i === this.highlighted);
      row.setAttribute("aria-selected", String(label.id === this.active));
      return row;
    });
    if (this.offerCreate()) {
      const row = el("li", { "data-create": "", role: "option" }, "Create “", this.query(), "”");
      row.classList.toggle("highlighted", this.highlighted >= shown.length);
      rows.push(row);
    }
    this.list.replaceChildren(...rows);
    this.hint.textContent = this.hintText(shown.length);
  }

  private hintText(shown: number): string {
    if (!this.all.length) {
      return this.canCreate ? "Type a name and press Enter to add the first label." : "This project has no labels yet.";
    }
    if (this.query() && !shown && !this.canCreate) return "No such label. Ask a project admin to add it.";
    return "";
  }

  private typeahead(event: KeyboardEvent): void {
    const shown = this.matches();
    const options = shown.length + (this.offerCreate() ? 1 : 0);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.highlighted = options ? (this.highlighted + step + options) % options : 0;
      this.render();
    } else if (event.key === "Enter") {
      event.preventDefault();
      const label = shown[this.highlighted];
      if (label) this.choose(label);
      else if (this.offerCreate()) void this.create(this.query());
    } else if (event.key === "Escape") {
      event.preventDefault();
      this.clear();
      this.host.done();
    }
  }

  private clear(): void {
    if (this.input) this.input.value = "";
    this.highlighted = 0;
    this.render();
  }

  private choose(label: Label): void {
    this.active = label.id;
    this.clear();
    this.host.picked(label);
    this.host.done();
  }

  private async create(name: string): Promise<void> {
    try {
      const label = await api<Label>(`${this.apiBase}labels/`, { method: "POST", body: JSON.stringify({ name }) });
      await this.load();
      this.choose(this.byId.get(label.id) ?? label);
    } catch (error) {
      if (error instanceof ApiError && error.code === "label_exists") {
        await this.load(); // someone created it a moment ago: use theirs
        const theirs = this.all.find((l) => l.name.toLowerCase() === name.toLowerCase());
        if (theirs) this.choose(theirs);
        return;
      }
      this.host.notify(error instanceof ApiError ? error.message : "The label could not be created.", "error");
    }
  }

  focus(): void {
    this.input?.focus();
  }

  /** Number keys: 1..9 pick labels 1-9, 0 picks the tenth. */
  pickByKey(digit: number): void {
    const label = this.all[(digit + 9) % 10];
    if (label) this.choose(label);
  }

  /** Q: the next label becomes active (the selection keeps its label). */
  cycle(): void {
    if (!this.all.length) return;
    const at = this.all.findIndex((l) => l.id === this.active);
    this.active = this.all[(at + 1) % this.all.length].id;
    this.render();
  }
}
