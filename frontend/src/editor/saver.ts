// Autosave. Every edit is queued (persistently) and saved through the REST API with the
// version it was based on. A 409 means someone saved first: the pending ops are replayed
// on their state (boxes merge by id), the user is told, and the save is sent again. Network
// failures keep the queue and retry with the same Idempotency-Key; an expired session asks
// the user to log in and then sends the queue.

import { api, ApiError } from "../lib/api";
import { applyOps, payload, sameContent, uuid } from "./doc";
import { type Entry, Queue } from "./queue";
import type { Doc, Op } from "./types";

export type SyncState = "saved" | "saving" | "offline" | "login" | "blocked";

export interface SaverHooks {
  /** The server's latest state of the image as far as this tab knows. */
  serverDoc(id: number): Doc | undefined;
  setServerDoc(doc: Doc): void;
  /** The image's local state changed without a local edit (merge, save, discard). */
  changed(id: number, doc: Doc): void;
  notify(message: string, kind?: "info" | "warn" | "error"): void;
  state(state: SyncState, pending: number): void;
  /** Resolves once the user has logged in again. */
  login(): Promise<void>;
}

const SAVE_DELAY_MS = 250;
const MAX_RETRY_MS = 15_000;
const PARALLEL_SAVES = 4;

export class Saver {
  private inflight = new Set<number>();
  private timers = new Map<number, number>();
  private retryMs = 1000;
  private retryTimer = 0;
  private offline = false;
  private blocked = false;
  private loggingIn: Promise<void> | null = null;
  private warnedStorage = false;

  constructor(
    private annotationsUrl: (id: number) => string,
    private queue: Queue,
    private hooks: SaverHooks,
  ) {
    window.addEventListener("online", () => this.retryNow());
  }

  /** The image as this user sees it: the server state plus their unsaved edits. */
  local(id: number): Doc | undefined {
    const entry = this.queue.get(id);
    if (!entry) return this.hooks.serverDoc(id);
    return applyOps(entry.base, entry.ops).doc;
  }

  hasPending(id: number): boolean {
    return Boolean(this.queue.get(id)?.ops.length);
  }

  /** Queue `ops` on image `id` (whose server state is `base`) and save soon. */
  record(id: number, base: Doc, ops: Op[]): Doc {
    for (const op of ops) this.queue.push(id, base, op);
    this.persist();
    this.schedule(id, SAVE_DELAY_MS);
    this.report();
    return this.local(id)!;
  }

  /** Replace the base of an image with newer server state (a remote change), keeping edits. */
  rebase(id: number, current: Doc): void {
    const entry = this.queue.get(id);
    if (!entry || this.inflight.has(id) || current.version <= entry.base.version) return;
    if (entry.batch) {
      // A sent batch may already be stored: only its retry, under the same key, can tell.
      // News from the server also means the network is back, so retry now.
      this.flushSoon(id);
      return;
    }
    this.adopt(id, entry, current);
  }

  /** Save everything now (navigating away, coming back online, after logging in). */
  flushAll(): Promise<void> {
    const ids = this.queue.ids();
    const next = async () => {
      for (let id = ids.shift(); id !== undefined; id = ids.shift()) await this.flush(id);
    };
    return Promise.all(Array.from({ length: PARALLEL_SAVES }, next)).then(() => undefined);
  }

  flushSoon(id: number): void {
    this.schedule(id, 0);
  }

  private schedule(id: number, delay: number): void {
    window.clearTimeout(this.timers.get(id));
    this.timers.set(id, window.setTimeout(() => void this.flush(id), delay));
  }

  private persist(): void {
    if (!this.queue.persist() && !this.warnedStorage) {
      this.warnedStorage = true;
      this.hooks.notify("This browser will not store unsaved changes; keep this tab open until they are saved.", "warn");
    }
  }

  private report(): void {
    const pending = this.queue.pending();
    let state: SyncState = "saved";
    if (this.loggingIn) state = "login";
    else if (this.blocked && pending) state = "blocked";
    else if (this.offline && pending) state = "offline";
    else if (pending) state = "saving";
    this.hooks.state(state, pending);
  }

  private async flush(id: number): Promise<void> {
    this.timers.delete(id);
    const entry = this.queue.get(id);
    if (!entry || !entry.ops.length || this.inflight.has(id) || this.loggingIn || this.blocked) return;
    if (!entry.batch) {
      entry.batch = { key: uuid(), n: entry.ops.length };
      this.persist();
    }
    const batch = entry.batch;
    const body = payload(applyOps(entry.base, entry.ops.slice(0, batch.n)).doc);
    this.inflight.add(id);
    this.report();
    try {
      const saved = await api<Doc>(this.annotationsUrl(id), {
        method: "PUT",
        body: JSON.stringify(body),
        headers: { "Idempotency-Key": batch.key },
      });
      this.offline = false;
      this.retryMs = 1000;
      entry.ops.splice(0, batch.n);
      this.adopt(id, entry, saved);
    } catch (error) {
      this.failed(id, entry, error);
    } finally {
      this.inflight.delete(id);
      this.report();
    }
    if (this.queue.get(id)?.ops.length && !this.offline && !this.loggingIn && !this.blocked) void this.flush(id);
  }

  /** `answer` is the server's state; what is left in the queue is replayed on it. */
  private adopt(id: number, entry: Entry, answer: Doc): void {
    // A newer state may have arrived (websocket news) while the save was under way;
    // it already contains this save, so the rest of the queue goes on top of it.
    const known = this.hooks.serverDoc(id);
    const current = known && known.version > answer.version ? known : answer;
    entry.base = current;
    entry.batch = null;
    const merged = applyOps(current, entry.ops);
    // Edits the server already holds (a write accepted before its answer was lost) need no save.
    if (sameContent(merged.doc, current)) entry.ops = [];
    if (!entry.ops.length) this.queue.delete(id);
    this.persist();
    this.hooks.setServerDoc(current);
    for (const message of new Set(merged.conflicts)) this.hooks.notify(message, "warn");
    this.hooks.changed(id, merged.doc);
  }

  private failed(id: number, entry: Entry, error: unknown): void {
    if (!(error instanceof ApiError) || error.status >= 500) {
      this.offline = true;
      this.scheduleRetry();
      return;
    }
    if (error.status === 409 && error.code === "stale_version") {
      this.hooks.notify("Someone saved this image at the same time; your changes were merged with theirs.", "info");
      this.adopt(id, entry, error.body.error.current as Doc);
      return;
    }
    if (error.status === 401) {
      this.relogin();
      return;
    }
    if (error.status === 403) {
      this.blocked = true;
      this.hooks.notify(`${error.message} Your unsaved changes stay in this browser.`, "error");
      return;
    }
    // The image is gone (404) or the edit can never be accepted (400): say so and show the truth.
    this.queue.delete(id);
    this.persist();
    this.hooks.notify(
      error.status === 404 ? "This image was deleted; its unsaved changes were dropped." : `Not saved: ${error.message}`,
      "error",
    );
    const server = this.hooks.serverDoc(id);
    if (server) this.hooks.changed(id, server);
  }

  private relogin(): void {
    if (this.loggingIn) return;
    this.loggingIn = this.hooks.login().then(() => {
      this.loggingIn = null;
      this.report();
      void this.flushAll();
    });
    this.report();
  }

  private scheduleRetry(): void {
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => this.retryNow(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  private retryNow(): void {
    window.clearTimeout(this.retryTimer);
    void this.flushAll();
  }
}
