// The latest review decision on the shown image, pinned to the stage: an annotator sent back a
// rejected image reads the reviewer's comment where the work happens, not on another page.
// User text (the comment, the reviewer's name) only ever goes in as text. The note can be
// folded to a small tab (it would otherwise cover a box's corner handle); the choice is kept
// in the browser for every image and project.

import { api } from "../lib/api";
import { el } from "../lib/dom";

export interface Review {
  id: number;
  decision: "approved" | "rejected";
  comment: string;
  reviewer: number | null;
  reviewer_name: string;
  image_version: number;
  created_at: string;
}

const COLLAPSED_KEY = "annotator:review-note:collapsed";

const UNITS: [number, string][] = [
  [86_400, "d"],
  [3_600, "h"],
  [60, "min"],
];

/** "3 min ago", "2 h ago", "just now": how long ago `iso` was. */
export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  for (const [size, unit] of UNITS) if (seconds >= size) return `${Math.floor(seconds / size)} ${unit} ago`;
  return "just now";
}

export class ReviewNote {
  private image: number | null = null;
  private version = 0;
  private latest: Review | null = null;
  private requests = 0;
  private collapsed = readCollapsed();

  constructor(
    private root: HTMLElement,
    private apiBase: string,
    private done: () => void = () => undefined,
  ) {
    // The note sits on the stage: reading, selecting and scrolling it must not draw or zoom.
    for (const type of ["pointerdown", "wheel"]) root.addEventListener(type, (e) => e.stopPropagation());
    root.addEventListener("click", (event) => {
      if (!(event.target as HTMLElement).closest(".ed-review-toggle")) return;
      this.collapsed = !this.collapsed;
      try {
        localStorage.setItem(COLLAPSED_KEY, this.collapsed ? "1" : "0");
      } catch {
        // storage disabled: the choice lasts as long as the page
      }
      this.render();
      this.done();
    });
  }

  /** Show the latest decision on image `id` (none: hidden), against annotation version `version`.
   *  A failed fetch hides the note: it is advice, and the image stays usable without it. */
  async load(id: number, version: number): Promise<void> {
    if (id !== this.image) this.clear();
    [this.image, this.version] = [id, version];
    const mine = ++this.requests;
    let latest: Review | null;
    try {
      [latest = null] = await api<Review[]>(`${this.apiBase}images/${id}/review/`);
    } catch {
      latest = null;
    }
    if (mine !== this.requests) return; // the editor moved on, or asked again, meanwhile
    this.latest = latest;
    this.render();
  }

  /** The shown image's annotations are now at `version` (a save): say so against the decision. */
  versionChanged(id: number, version: number): void {
    if (id !== this.image || version === this.version) return;
    this.version = version;
    this.render();
  }

  clear(): void {
    this.requests++; // an answer still on its way is for an image no longer shown
    [this.image, this.latest] = [null, null];
    this.root.hidden = true;
  }

  private render(): void {
    const review = this.latest;
    this.root.hidden = !review;
    if (!review) return;
    const rejected = review.decision === "rejected";
    this.root.dataset.decision = review.decision;
    this.root.classList.toggle("collapsed", this.collapsed);
    const toggle = el(
      "button",
      {
        type: "button",
        class: "ed-review-toggle",
        "aria-expanded": String(!this.collapsed),
        title: this.collapsed ? "Show the review note" : "Fold the note away",
      },
      this.collapsed ? "Show" : "Hide",
    );
    const verdict = el("strong", {}, rejected ? "Rejected" : "Approved");
    if (this.collapsed) {
      this.root.replaceChildren(el("p", { class: "ed-review-head" }, verdict, " ", toggle));
      return;
    }
    const who = review.reviewer_name || "a former member";
    const head = el("p", { class: "ed-review-head" }, verdict, ` by ${who}, ${ago(review.created_at)} `, toggle);
    const parts: Node[] = [head];
    if (review.comment) parts.push(el("p", { class: "ed-review-comment" }, review.comment));
    if (this.version > review.image_version) {
      const since = rejected ? "Changed since; waiting for review again." : "Changed since the approval.";
      parts.push(el("p", { class: "ed-review-since" }, since));
    }
    this.root.replaceChildren(...parts);
  }
}

function readCollapsed(): boolean {
  try {
    return localStorage.getItem(COLLAPSED_KEY) === "1";
  } catch {
    return false;
  }
}
