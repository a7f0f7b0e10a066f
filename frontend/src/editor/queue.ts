// Edits not yet confirmed by the server, per image, kept in localStorage so that a reload,
// a crash or a lost connection never loses them. Each entry holds the server state the ops
// were made on (`base`) and, once a save is under way, the batch being sent with its
// Idempotency-Key: a retry after a reload sends the same body under the same key, so the
// server can tell a retry from a new write and nothing is stored twice.

import type { Doc, Op } from "./types";

export interface Batch {
  key: string;
  n: number;
}

export interface Entry {
  base: Doc;
  ops: Op[];
  batch: Batch | null;
}

export class Queue {
  private entries = new Map<number, Entry>();

  constructor(private storageKey: string) {
    let raw: string | null = null;
    try {
      raw = localStorage.getItem(storageKey);
    } catch {
      return; // storage disabled: persist() reports it on the first edit
    }
    if (!raw) return;
    try {
      for (const [id, entry] of JSON.parse(raw) as [number, Entry][]) this.entries.set(id, entry);
    } catch {
      // A corrupt value cannot be replayed; keep it aside for a person rather than delete it.
      localStorage.setItem(`${storageKey}:corrupt`, raw);
      localStorage.removeItem(storageKey);
    }
  }

  get(id: number): Entry | undefined {
    return this.entries.get(id);
  }

  ids(): number[] {
    return [...this.entries.keys()];
  }

  /** How many edits are not yet on the server. */
  pending(): number {
    let n = 0;
    for (const entry of this.entries.values()) n += entry.ops.length;
    return n;
  }

  push(id: number, base: Doc, op: Op): Entry {
    let entry = this.entries.get(id);
    if (!entry) {
      entry = { base, ops: [], batch: null };
      this.entries.set(id, entry);
    }
    entry.ops.push(op);
    return entry;
  }

  delete(id: number): void {
    this.entries.delete(id);
  }

  /** Writes the queue through; false when the browser refuses (storage full or disabled). */
  persist(): boolean {
    try {
      if (this.entries.size) localStorage.setItem(this.storageKey, JSON.stringify([...this.entries]));
      else localStorage.removeItem(this.storageKey);
      return true;
    } catch {
      return false;
    }
  }
}
