// What the editor has fetched: images' decoded pixels and their server annotation state.
// Prefetching fills both for the next images, so moving on renders from memory.

import { api } from "../lib/api";
import type { ImageItem } from "../lib/api";
import type { Doc } from "./types";

const MAX_BITMAPS = 24;
// A cached state younger than this is shown without asking the server again; the websocket
// invalidates entries that change, so this only bounds how stale a missed event can leave us.
const FRESH_MS = 30_000;

interface Cached {
  doc: Doc;
  at: number;
}

export class Store {
  private docs = new Map<number, Cached>();
  private loadingDocs = new Map<number, Promise<Doc>>();
  private bitmaps = new Map<number, Promise<HTMLImageElement>>();
  private items = new Map<number, ImageItem>();
  /** Told when an image's server state arrives or changes (the strip draws its boxes). */
  onServer: ((id: number) => void) | null = null;

  constructor(private api: string) {}

  annotationsUrl(id: number): string {
    return `${this.api}images/${id}/annotations/`;
  }

  remember(item: ImageItem): void {
    this.items.set(item.id, item);
  }

  item(id: number): ImageItem | undefined {
    return this.items.get(id);
  }

  async fetchItem(id: number): Promise<ImageItem> {
    const item = await api<ImageItem>(`${this.api}images/${id}/`);
    this.remember(item);
    return item;
  }

  server(id: number): Doc | undefined {
    return this.docs.get(id)?.doc;
  }

  isFresh(id: number): boolean {
    const cached = this.docs.get(id);
    return Boolean(cached && performance.now() - cached.at < FRESH_MS);
  }

  setServer(doc: Doc): void {
    const known = this.docs.get(doc.image);
    if (known && known.doc.version > doc.version) return; // an older answer arrived late
    this.docs.set(doc.image, { doc, at: performance.now() });
    const item = this.items.get(doc.image);
    if (item) Object.assign(item, { status: doc.status, version: doc.version, labels: doc.labels, negative: doc.negative });
    this.onServer?.(doc.image);
  }

  /** Forget a cached state (a remote change); the next read asks the server. */
  invalidate(id: number): void {
    const cached = this.docs.get(id);
    if (cached) cached.at = -Infinity;
    // A fetch already under way may have been answered before the change: the next read
    // must not share it.
    this.loadingDocs.delete(id);
  }

  /** The server's state of an image, from memory when fresh, else fetched (deduplicated). */
  annotations(id: number, fresh = false): Promise<Doc> {
    if (!fresh && this.isFresh(id)) return Promise.resolve(this.server(id)!);
    let loading = this.loadingDocs.get(id);
    if (!loading) {
      const request: Promise<Doc> = api<Doc>(this.annotationsUrl(id))
        .then((doc) => {
          this.setServer(doc);
          return this.server(id)!;
        })
        .finally(() => {
          if (this.loadingDocs.get(id) === request) this.loadingDocs.delete(id);
        });
      loading = request;
      this.loadingDocs.set(id, loading);
    }
    return loading;
  }

  /** The decoded image, kept in a small most-recently-used cache. */
  bitmap(item: ImageItem): Promise<HTMLImageElement> {
    let loading = this.bitmaps.get(item.id);
    if (loading) {
      this.bitmaps.delete(item.id);
      this.bitmaps.set(item.id, loading);
      return loading;
    }
    const img = new Image();
    img.decoding = "async";
    img.src = item.url;
    loading = img.decode().then(() => img);
    loading.catch(() => this.bitmaps.delete(item.id));
    this.bitmaps.set(item.id, loading);
    while (this.bitmaps.size > MAX_BITMAPS) this.bitmaps.delete(this.bitmaps.keys().next().value!);
    return loading;
  }

  /** Warm the caches for images the user is likely to open next; failures surface on open. */
  prefetch(items: ImageItem[]): void {
    for (const item of items) {
      this.remember(item);
      this.bitmap(item).catch(() => undefined);
      this.annotations(item.id).catch(() => undefined);
    }
  }
}
