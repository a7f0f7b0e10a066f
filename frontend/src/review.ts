// The Review page: the reviewer's queue, decided from the keyboard. Configuration comes from
// the page's data attributes and a JSON data block (the CSP allows no inline script).
//
// Keys: A approve · R reject (a comment box takes focus; Enter sends, Shift+Enter is a new
// line, Esc cancels) · S skip · ←/→ previous/next · +/− zoom · F fit.

import { $ } from "./lib/dom";
import { ReviewApp } from "./review/app";
import type { QueueItem } from "./review/queue";
import { dialogOpen, toast } from "./editor/ui";

function typing(target: EventTarget | null): boolean {
  const node = target as HTMLElement | null;
  return Boolean(node && (node.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(node.tagName)));
}

const ZOOM: Record<string, "in" | "out" | "fit"> = { "+": "in", "=": "in", "-": "out", _: "out", f: "fit" };

function bindKeys(app: ReviewApp): void {
  document.addEventListener("keydown", (e) => {
    if (typing(e.target) || dialogOpen() || e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (key === "a") void app.decide("approve");
    else if (key === "r") app.openReject();
    else if (key === "s" || key === "ArrowRight") app.step(1);
    else if (key === "ArrowLeft") app.step(-1);
    else if (key in ZOOM) app.zoom(ZOOM[key]);
    else return;
    e.preventDefault();
  });
}

function bindControls(app: ReviewApp): void {
  const comment = $("#rv-comment") as HTMLTextAreaElement;
  const form = $("#rv-reject-form") as HTMLFormElement;
  comment.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    } else if (e.key === "Escape") {
      e.preventDefault();
      app.closeReject();
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void app.decide("reject", comment.value);
  });
  $("#rv-reject-cancel").addEventListener("click", () => app.closeReject());
  $("#rv-approve").addEventListener("click", () => void app.decide("approve"));
  $("#rv-reject").addEventListener("click", () => app.openReject());
  $("#rv-skip").addEventListener("click", () => app.step(1));
  $("#rv-bulk").addEventListener("click", () => void app.bulkApprove());
  for (const id of ["#rv-annotator", "#rv-label", "#rv-auto"]) {
    $(id).addEventListener("change", () => void app.reload().then(() => $("#stage").focus({ preventScroll: true })));
  }
  const commands: Record<string, "in" | "out" | "fit"> = { "zoom-in": "in", "zoom-out": "out", fit: "fit" };
  $(".rv-bar").addEventListener("click", (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>("button[data-command]");
    const command = button && commands[button.dataset.command!];
    if (command) app.zoom(command);
  });
}

async function main(): Promise<void> {
  const root = $("#review");
  const app = new ReviewApp(root, root.dataset.api!);
  bindKeys(app);
  bindControls(app);
  const first = JSON.parse($("#rv-start").textContent || "null") as QueueItem | null;
  try {
    await app.start(first);
  } catch (error) {
    toast(`The review queue could not load: ${(error as Error).message}. Reload to try again.`, "error");
    throw error;
  }
  app.follow(root.dataset.projectId!);
  $("#stage").focus({ preventScroll: true });
}

void main();
