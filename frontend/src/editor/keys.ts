// Keyboard shortcuts: the Cloud Annotations set (Q, 1-9/0, arrows, Space) plus editing keys.
// Space is both "next unlabelled" (tap) and "pan" (hold while dragging): it acts on key-up,
// and only when no drag happened while it was held.

import type { Editor } from "./app";
import { dialogOpen, toggleShortcuts } from "./ui";

function typing(target: EventTarget | null): boolean {
  const node = target as HTMLElement | null;
  return Boolean(node && (node.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(node.tagName)));
}

/** Shortcuts that mean the same in every mode. Returns true when handled. */
function common(editor: Editor, e: KeyboardEvent): boolean {
  const ctrl = e.ctrlKey || e.metaKey;
  if (e.key === "?") toggleShortcuts();
  else if (!ctrl && (e.key === "q" || e.key === "Q")) editor.labels.cycle();
  else if (!ctrl && /^[0-9]$/.test(e.key)) editor.labels.pickByKey(Number(e.key));
  else if (!ctrl && (e.key === "/" || e.key === "l" || e.key === "L")) editor.labels.focus();
  else if (!ctrl && (e.key === "n" || e.key === "N")) editor.toggleNegative();
  else return false;
  return true;
}

/** The model's suggestions (editor/suggestions.ts): Enter accepts every shown one, A the selected
 *  (else the most confident) one; X rejects that one, Shift+X every shown one. */
function suggestionKeys(editor: Editor, e: KeyboardEvent): boolean {
  const suggestions = editor.suggestions;
  if (e.ctrlKey || e.metaKey || e.altKey || !suggestions.any()) return false;
  const key = e.key.toLowerCase();
  if (e.key === "Enter") suggestions.acceptShown();
  else if (key === "a" && !e.shiftKey) suggestions.acceptOne();
  else if (key === "x") void (e.shiftKey ? suggestions.rejectShown() : suggestions.rejectOne());
  else return false;
  return true;
}

function zoom(editor: Editor, e: KeyboardEvent): boolean {
  if (e.ctrlKey || e.metaKey) return false;
  if (e.key === "+" || e.key === "=") editor.view.zoomAt(1.25);
  else if (e.key === "-" || e.key === "_") editor.view.zoomAt(0.8);
  else if (e.key === "f" || e.key === "F") editor.view.fit();
  else return false;
  editor.renderer.invalidate("image", "boxes", "overlay");
  return true;
}

function boxKeys(editor: Editor, e: KeyboardEvent): boolean {
  const ctrl = e.ctrlKey || e.metaKey;
  const tools = editor.boxes;
  const step = e.shiftKey ? 10 : 1;
  const nudges: Record<string, [number, number]> = {
    ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step],
  }; // prettier-ignore
  const key = e.key.toLowerCase();
  if (ctrl && key === "z") e.shiftKey ? editor.redo() : editor.undo();
  else if (ctrl && key === "y") editor.redo();
  else if (ctrl && key === "c") tools.copy();
  else if (ctrl && key === "v") tools.paste();
  else if (!ctrl && e.shiftKey && key === "v") void tools.copyPrevious();
  else if (e.key in nudges && tools.hasSelection()) tools.nudge(...nudges[e.key]);
  else if (e.key === "ArrowRight" || e.key === "ArrowLeft") void editor.step(e.key === "ArrowRight" ? 1 : -1);
  else if (e.key === "Delete" || e.key === "Backspace") tools.deleteSelected();
  else if (e.key === "Tab") editor.selectNext(e.shiftKey ? -1 : 1);
  else if (e.key === "Enter" && tools.hasSelection()) editor.labels.focus();
  else if (e.key === "Escape") {
    if (editor.input.busy()) editor.input.cancel();
    else {
      tools.select(null);
      editor.suggestions.select(null);
    }
  } else return suggestionKeys(editor, e) || common(editor, e) || zoom(editor, e);
  return true;
}

function gridKeys(editor: Editor, e: KeyboardEvent): boolean {
  const classifier = editor.classifier!;
  const ctrl = e.ctrlKey || e.metaKey;
  if (classifier.single) {
    if (e.key === "Escape") editor.showGrid();
    else if (e.key === "ArrowRight" || e.key === "ArrowLeft") void editor.step(e.key === "ArrowRight" ? 1 : -1);
    else return suggestionKeys(editor, e) || common(editor, e) || zoom(editor, e);
    return true;
  }
  const columns = editor.strip.columns();
  const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns };
  if (ctrl && e.key.toLowerCase() === "a") classifier.selectAll();
  else if (e.key in moves) classifier.move(moves[e.key], e.shiftKey);
  else if (e.key === "Escape") classifier.clear();
  else if (e.key === "Enter" && classifier.focused()) void editor.openSingle(classifier.focused()!);
  else return common(editor, e);
  return true;
}

export function bindKeys(editor: Editor): void {
  document.addEventListener("keydown", (e) => {
    if (typing(e.target) || (dialogOpen() && e.key !== "?")) return;
    if (e.key === " ") {
      e.preventDefault();
      if (!e.repeat) [editor.spaceHeld, editor.spaceUsed] = [true, false];
      return;
    }
    const handled = editor.classifier ? gridKeys(editor, e) : boxKeys(editor, e);
    if (handled) e.preventDefault();
  });
  document.addEventListener("keyup", (e) => {
    if (e.key !== " " || !editor.spaceHeld) return;
    editor.spaceHeld = false;
    if (!editor.spaceUsed && !typing(e.target) && !dialogOpen()) void editor.nextUnlabelled();
  });
  window.addEventListener("blur", () => (editor.spaceHeld = false));
}
