// The project page's label manager: each label with its number key, colour, name and use;
// managers rename (edit the name: Enter or leaving the field saves, Escape undoes), recolour,
// move with the ↑/↓ buttons (focus stays on the moved label's button, so the keyboard can
// keep moving it) and delete, choosing what becomes of its boxes: deleted, or merged into
// another label. Members who may create labels get the "New label" field.

import { api, ApiError, type Label } from "../lib/api";
import { $, el } from "../lib/dom";

export interface LabelHost {
  /** The labels changed (order, names, colours, existence): filters follow. */
  labelsChanged(labels: Label[]): void;
  /** Boxes moved or went (merge, delete): counts and grid follow. */
  dataChanged(): void;
}

interface Usage {
  boxes: number;
  images: number;
}

/** The editor's number key for the label at `position` (1–9, then 0 for the tenth). */
export function hotkey(position: number): string {
  return position < 10 ? String((position + 1) % 10) : "";
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export class LabelManager {
  labels: Label[] = [];
  private counts: Record<string, number> = {};
  private readonly list = $("#label-manager");
  private readonly message = $("#label-message");

  constructor(
    private apiBase: string,
    private canManage: boolean,
    private host: LabelHost,
  ) {
    this.list.addEventListener("click", (event) => void this.clicked(event));
    this.list.addEventListener("change", (event) => void this.changed(event));
    this.list.addEventListener("keydown", (event) => this.keyed(event));
    const add = document.querySelector<HTMLFormElement>("#label-add");
    add?.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.create(add);
    });
  }

  async load(): Promise<void> {
    this.labels = await api<Label[]>(`${this.apiBase}labels/`);
    this.render();
    this.host.labelsChanged(this.labels);
  }

  setCounts(counts: Record<string, number>): void {
    this.counts = counts;
    for (const node of this.list.querySelectorAll<HTMLElement>("[data-use]")) {
      node.textContent = plural(counts[node.dataset.use!] ?? 0, "image");
    }
  }

  private say(text: string, kind: "info" | "error" = "info"): void {
    this.message.textContent = text;
    this.message.classList.toggle("error", kind === "error");
  }

  /** Where the keyboard is in the list, so a redraw (ours or a teammate's change) keeps it there. */
  private focused(): { id: number; selector: string; typed?: string } | undefined {
    const active = document.activeElement as HTMLElement | null;
    const id = Number(active?.closest<HTMLElement>("#label-manager [data-label-id]")?.dataset.labelId);
    if (!active || !id) return undefined;
    if (active.dataset.move) return { id, selector: `[data-move="${active.dataset.move}"]` };
    if (active.dataset.delete !== undefined) return { id, selector: "[data-delete]" };
    if (active.classList.contains("label-name")) return { id, selector: ".label-name", typed: (active as HTMLInputElement).value };
    return { id, selector: `.${active.className}` };
  }

  private render(focus = this.focused()): void {
    $("#labels-summary").textContent = `(${this.labels.length})`;
    this.list.replaceChildren(...this.labels.map((label, i) => this.row(label, i)));
    if (focus) {
      const row = this.list.querySelector(`[data-label-id="${focus.id}"]`);
      const target = row?.querySelector<HTMLElement>(focus.selector);
      if (target && focus.typed !== undefined) (target as HTMLInputElement).value = focus.typed;
      (target && !(target as HTMLButtonElement).disabled ? target : row?.querySelector<HTMLElement>("button"))?.focus();
    }
  }

  private row(label: Label, i: number): HTMLElement {
    const key = el("kbd", { title: "Its key in the editor" }, hotkey(i));
    const use = el("span", { class: "muted label-use", "data-use": String(label.id) });
    use.textContent = plural(this.counts[String(label.id)] ?? 0, "image");
    if (!this.canManage) {
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = label.color;
      return el("li", { "data-label-id": String(label.id) }, key, swatch, el("span", { class: "label-name" }, label.name), use);
    }
    const colour = el("input", { type: "color", class: "label-colour", value: label.color, "aria-label": `Colour of ${label.name}` });
    const name = el("input", {
      class: "label-name",
      value: label.name,
      maxlength: "100",
      required: "",
      "aria-label": `Name of ${label.name}`,
    });
    const up = el("button", { type: "button", class: "button", "data-move": "-1", "aria-label": `Move ${label.name} up` }, "↑");
    const down = el("button", { type: "button", class: "button", "data-move": "1", "aria-label": `Move ${label.name} down` }, "↓");
    up.disabled = i === 0;
    down.disabled = i === this.labels.length - 1;
    const remove = el(
      "button",
      { type: "button", class: "button danger", "data-delete": "", "aria-label": `Delete ${label.name}` },
      "Delete…",
    );
    return el("li", { "data-label-id": String(label.id) }, key, colour, name, use, up, down, remove);
  }

  private labelOf(target: Element): Label | undefined {
    const id = Number(target.closest<HTMLElement>("[data-label-id]")?.dataset.labelId);
    return this.labels.find((l) => l.id === id);
  }

  private async clicked(event: Event): Promise<void> {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>("button");
    const label = button && this.labelOf(button);
    if (!button || !label) return;
    if (button.dataset.move) await this.move(label, Number(button.dataset.move));
    else if (button.dataset.delete !== undefined) await this.remove(label);
  }

  private keyed(event: KeyboardEvent): void {
    const input = event.target as HTMLInputElement;
    if (!input.classList.contains("label-name")) return;
    if (event.key === "Enter") {
      event.preventDefault();
      input.blur(); // commits: the change event saves
    } else if (event.key === "Escape") {
      input.value = this.labelOf(input)?.name ?? input.value;
      input.blur();
    }
  }

  private async changed(event: Event): Promise<void> {
    const input = event.target as HTMLInputElement;
    const label = this.labelOf(input);
    if (!label) return;
    if (input.classList.contains("label-name")) {
      const name = input.value.trim();
      if (!name || name === label.name) {
        input.value = label.name;
        return;
      }
      await this.patch(label, { name }, input);
    } else if (input.classList.contains("label-colour")) {
      await this.patch(label, { color: input.value }, input);
    }
  }

  private async patch(label: Label, change: Partial<Label>, input: HTMLInputElement): Promise<void> {
    try {
      const saved = await api<Label>(`${this.apiBase}labels/${label.id}/`, { method: "PATCH", body: JSON.stringify(change) });
      Object.assign(label, saved);
      this.say(change.name ? `Renamed to “${saved.name}”.` : `Colour of “${saved.name}” changed.`);
      input.setAttribute("aria-label", `${change.name ? "Name" : "Colour"} of ${saved.name}`);
      this.host.labelsChanged(this.labels);
    } catch (error) {
      input.value = change.name ? label.name : label.color;
      this.say(error instanceof ApiError ? error.message : "The change was not saved.", "error");
    }
  }

  private async move(label: Label, step: number): Promise<void> {
    const ids = this.labels.map((l) => l.id);
    const from = ids.indexOf(label.id);
    const to = from + step;
    if (to < 0 || to >= ids.length) return;
    [ids[from], ids[to]] = [ids[to], ids[from]];
    try {
      this.labels = await api<Label[]>(`${this.apiBase}labels/order/`, { method: "PUT", body: JSON.stringify({ ids }) });
      this.render({ id: label.id, selector: `[data-move="${step}"]` });
      this.say(`“${label.name}” is now number ${to + 1}${to < 10 ? ` (key ${hotkey(to)})` : ""}.`);
      this.host.labelsChanged(this.labels);
    } catch (error) {
      this.say(error instanceof ApiError ? error.message : "The order was not saved.", "error");
      await this.load();
    }
  }

  private async remove(label: Label): Promise<void> {
    const dialog = $("#label-delete-dialog") as HTMLDialogElement;
    const usage = await api<Usage>(`${this.apiBase}labels/${label.id}/usage/`);
    const used = usage.boxes > 0 || usage.images > 0;
    $("#label-delete-title", dialog).textContent = `Delete “${label.name}”`;
    $("#label-delete-usage", dialog).textContent = used
      ? `“${label.name}” is on ${plural(usage.images, "image")}${usage.boxes ? ` (${plural(usage.boxes, "box", "boxes")})` : ""}. What becomes of them?`
      : `“${label.name}” is not used on any image.`;
    const choices = $("#label-delete-choices", dialog);
    choices.hidden = !used;
    const into = $("#label-delete-into", dialog) as HTMLSelectElement;
    const others = this.labels.filter((l) => l.id !== label.id);
    into.replaceChildren(...others.map((l) => el("option", { value: String(l.id) }, l.name)));
    const merge = dialog.querySelector<HTMLInputElement>('input[value="merge"]')!;
    merge.disabled = !others.length;
    dialog.querySelector<HTMLInputElement>('input[value="delete"]')!.checked = true;
    into.addEventListener("focus", () => (merge.checked = true), { once: true });
    const confirm = $("#label-delete-confirm", dialog);
    const sync = () => (confirm.textContent = used && merge.checked ? "Merge and delete label" : "Delete label");
    choices.onchange = sync;
    sync();
    dialog.returnValue = "";
    dialog.showModal();
    await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
    if (dialog.returnValue !== "confirm") return;
    try {
      if (used && merge.checked) {
        const target = others.find((l) => l.id === Number(into.value))!;
        await api(`${this.apiBase}labels/${label.id}/merge/`, { method: "POST", body: JSON.stringify({ into: target.id }) });
        this.say(`Merged “${label.name}” into “${target.name}”.`);
      } else {
        await api(`${this.apiBase}labels/${label.id}/`, { method: "DELETE" });
        this.say(`Deleted “${label.name}”${used ? " and its annotations" : ""}.`);
      }
    } catch (error) {
      this.say(error instanceof ApiError ? error.message : "The label was not deleted.", "error");
    }
    await this.load();
    this.host.dataChanged();
  }

  private async create(form: HTMLFormElement): Promise<void> {
    const input = form.elements.namedItem("name") as HTMLInputElement;
    try {
      const label = await api<Label>(`${this.apiBase}labels/`, { method: "POST", body: JSON.stringify({ name: input.value }) });
      input.value = "";
      this.say(`Added “${label.name}”.`);
      await this.load();
    } catch (error) {
      this.say(error instanceof ApiError ? error.message : "The label was not added.", "error");
    }
  }
}
