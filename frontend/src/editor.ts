// The labelling editor page: reads its configuration from the page's data attributes
// (the CSP allows no inline script) and starts the editor.

import { $ } from "./lib/dom";
import { Editor } from "./editor/app";
import { bindKeys } from "./editor/keys";
import type { Config } from "./editor/types";
import { toast, toggleShortcuts } from "./editor/ui";

function config(root: HTMLElement): Config {
  const data = root.dataset;
  return {
    projectId: Number(data.projectId),
    type: data.projectType === "classification" ? "classification" : "localization",
    api: data.api!,
    ws: data.ws!,
    loginUrl: data.loginUrl!,
    userId: Number(data.userId),
    canAnnotate: data.canAnnotate === "true",
    canCreateLabel: data.canCreateLabel === "true",
  };
}

function wireToolbar(editor: Editor): void {
  const commands: Record<string, () => void> = {
    "zoom-in": () => editor.view.zoomAt(1.25),
    "zoom-out": () => editor.view.zoomAt(0.8),
    fit: () => editor.view.fit(),
    undo: () => editor.undo(),
    redo: () => editor.redo(),
    "copy-previous": () => void editor.boxes.copyPrevious(),
    negative: () => editor.toggleNegative(),
    help: () => toggleShortcuts(),
    "view-grid": () => editor.showGrid(),
  };
  $(".ed-toolbar").addEventListener("click", (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>("button[data-command]");
    const command = button && commands[button.dataset.command!];
    if (!command) return;
    command();
    editor.renderer.invalidate("image", "boxes", "overlay");
    editor.focusWork();
  });
}

async function main(): Promise<void> {
  const editor = new Editor(config($("#editor")));
  wireToolbar(editor);
  bindKeys(editor);
  try {
    await editor.start();
  } catch (error) {
    toast(`The editor could not start: ${(error as Error).message}. Reload to try again.`, "error");
    throw error;
  }
}

void main();
