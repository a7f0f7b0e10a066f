// Small pieces of UI: toasts, the sync indicator, avatars, the shortcut sheet.
// Everything user-provided goes in as text (textContent via `el`), never as markup.

import { el } from "../lib/dom";
import type { SyncState } from "./saver";
import type { Person } from "./types";

const TOAST_MS = 5000;

export function toast(message: string, kind: "info" | "warn" | "error" = "info"): void {
  const holder = document.getElementById("toasts")!;
  for (const old of holder.children) if (old.textContent === message) old.remove();
  const note = el("div", { class: `ed-toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  holder.append(note);
  window.setTimeout(() => note.remove(), kind === "error" ? TOAST_MS * 2 : TOAST_MS);
}

const SYNC_TEXT: Record<SyncState, string> = {
  saved: "Saved",
  saving: "Saving…",
  offline: "Unsynced changes: offline, retrying",
  login: "Unsynced changes: log in to save",
  blocked: "Unsynced changes: not allowed to save",
};

export function showSync(state: SyncState, pending: number): void {
  const node = document.getElementById("sync-state")!;
  node.dataset.state = state;
  node.dataset.pending = String(pending);
  node.textContent = pending && state !== "saving" ? `${SYNC_TEXT[state]} (${pending})` : SYNC_TEXT[state];
}

/** A stable colour per person, so teammates are recognisable at a glance. */
export function personColour(id: number): string {
  return `hsl(${(id * 137.508) % 360}, 65%, 45%)`;
}

export function initials(name: string): string {
  const parts = name.split(/[\s._-]+/).filter(Boolean);
  return ((parts[0]?.[0] ?? "?") + (parts[1]?.[0] ?? "")).toUpperCase();
}

export function avatar(person: Person, size: "small" | "normal" = "normal"): HTMLElement {
  const node = el("span", { class: `ed-avatar ${size}`, title: person.name, "data-user-id": String(person.id) });
  node.textContent = initials(person.name);
  node.style.background = personColour(person.id);
  return node;
}

export function toggleShortcuts(): void {
  const sheet = document.getElementById("shortcuts") as HTMLDialogElement;
  if (sheet.open) sheet.close();
  else sheet.showModal();
}

export function dialogOpen(): boolean {
  return document.querySelector("dialog[open]") !== null;
}

/** Run `fn` once the next frame has been drawn: side panels follow the image without ever
 *  delaying the frame that shows it. */
export function afterNextFrame(fn: () => void): void {
  requestAnimationFrame(() => window.setTimeout(fn, 0));
}
