// Undo and redo, per image. A step keeps the ops a user made and the ops that revert them,
// computed against the state they were made on; undoing replays the reverting ops as a new
// edit, so it is saved (and merged with other people's work) like any other.

import { applyOps, inverse } from "./doc";
import type { Doc, Op } from "./types";

interface Step {
  ops: Op[];
  undo: Op[];
}

export class History {
  private steps = new Map<number, { undo: Step[]; redo: Step[] }>();

  private of(image: number): { undo: Step[]; redo: Step[] } {
    let steps = this.steps.get(image);
    if (!steps) this.steps.set(image, (steps = { undo: [], redo: [] }));
    return steps;
  }

  record(image: number, before: Doc, ops: Op[]): void {
    const undo: Op[] = [];
    let state = before;
    for (const op of ops) {
      undo.unshift(inverse(state, op));
      state = applyOps(state, [op]).doc;
    }
    const steps = this.of(image);
    steps.undo.push({ ops, undo });
    steps.redo = [];
  }

  /** The ops that undo the image's last step, or null when there is nothing to undo. */
  undo(image: number): Op[] | null {
    const steps = this.of(image);
    const step = steps.undo.pop();
    if (!step) return null;
    steps.redo.push(step);
    return step.undo;
  }

  redo(image: number): Op[] | null {
    const steps = this.of(image);
    const step = steps.redo.pop();
    if (!step) return null;
    steps.undo.push(step);
    return step.ops;
  }
}
