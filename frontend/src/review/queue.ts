// The reviewer's queue as the server keeps it (GET review/queue/, by name, cursor-paginated),
// loaded a page at a time as the reviewer moves on. Items stay in the list once decided, so
// ← goes back to them; the total is the filtered queue's size when it was (re)loaded.

import { api, type ImageItem, type Page } from "../lib/api";
import type { Review } from "../editor/review";

export interface QueueItem extends ImageItem {
  annotated_at: string | null;
  annotated_by: { id: number; name: string } | null;
  review: Review | null;
}

export interface Summary {
  count: number;
  annotators: { id: number; name: string; count: number }[];
  max_bulk: number;
}

export interface QueueFilter {
  annotator: string;
  label: string;
  /** "true": only images a bulk auto-label wrote (nobody saved since); "false": only people's work. */
  auto_labelled: string;
}

const PAGE = 50;

export class ReviewQueue {
  items: QueueItem[] = [];
  total = 0;
  filter: QueueFilter = { annotator: "", label: "", auto_labelled: "" };
  private next: string | null = null;
  private generation = 0;

  constructor(private apiBase: string) {}

  private query(extra: Record<string, string> = {}): string {
    const query = new URLSearchParams(extra);
    if (this.filter.annotator) query.set("annotator", this.filter.annotator);
    if (this.filter.label) query.set("label", this.filter.label);
    if (this.filter.auto_labelled) query.set("auto_labelled", this.filter.auto_labelled);
    return query.toString();
  }

  summary(): Promise<Summary> {
    return api<Summary>(`${this.apiBase}review/queue/summary/?${this.query()}`);
  }

  /** Start over under the current filter; `first` (an image asked for by URL) leads the list. */
  async reload(first: QueueItem | null = null): Promise<Summary> {
    const mine = ++this.generation;
    const [summary, page] = await Promise.all([
      this.summary(),
      api<Page<QueueItem>>(`${this.apiBase}review/queue/?${this.query({ page_size: String(PAGE) })}`),
    ]);
    if (mine !== this.generation) return summary;
    const rest = page.results.filter((item) => item.id !== first?.id);
    this.items = first ? [first, ...rest] : rest;
    this.next = page.next;
    // An image opened by URL that is not waiting (decided already, or one's own) adds one.
    this.total = summary.count + (first && first.status !== "labelled" ? 1 : 0);
    return summary;
  }

  /** The item at `index`, loading the next page when the list ends there. */
  async at(index: number): Promise<QueueItem | null> {
    while (index >= this.items.length && this.next) {
      const mine = this.generation;
      const page = await api<Page<QueueItem>>(this.next);
      if (mine !== this.generation) return null;
      const known = new Set(this.items.map((i) => i.id));
      this.items.push(...page.results.filter((i) => !known.has(i.id)));
      this.next = page.next;
    }
    return this.items[index] ?? null;
  }

  /** Every image in the filtered queue, up to `limit`, with the version each is at: what a bulk
   *  decision names. */
  async collect(limit: number): Promise<QueueItem[]> {
    const out: QueueItem[] = [];
    let url: string | null = `${this.apiBase}review/queue/?${this.query({ page_size: "200" })}`;
    while (url && out.length < limit) {
      const page: Page<QueueItem> = await api<Page<QueueItem>>(url);
      out.push(...page.results);
      url = page.next;
    }
    return out.slice(0, limit);
  }
}
