// Pure functions over annotation sets: applying ops (also on someone else's newer state),
// inverting them for undo, and the body a save sends.

import type { Box, Doc, Op } from "./types";

export interface Applied {
  doc: Doc;
  /** Things a person should hear about: an edit that could not be kept as made. */
  conflicts: string[];
}

export function cloneDoc(doc: Doc): Doc {
  return { ...doc, labels: [...doc.labels], boxes: doc.boxes.map((b) => ({ ...b })) };
}

export function emptyDoc(image: number, version = 0): Doc {
  return { image, version, status: "unlabelled", negative: false, labels: [], boxes: [] };
}

function applyOne(doc: Doc, op: Op, conflicts: string[]): void {
  const at = "box" in op ? doc.boxes.findIndex((b) => b.id === op.box.id) : -1;
  switch (op.t) {
    case "add":
      // Boxes are merged by their id, so replaying an add that already landed changes nothing.
      if (at >= 0) doc.boxes[at] = { ...op.box };
      else doc.boxes.push({ ...op.box });
      break;
    case "upd":
      if (at >= 0) doc.boxes[at] = { ...op.box };
      else conflicts.push("A box you changed was deleted by someone else meanwhile.");
      break;
    case "del":
      doc.boxes = doc.boxes.filter((b) => b.id !== op.id);
      break;
    case "neg":
      doc.negative = op.value;
      break;
    case "cls":
      doc.labels = [...op.labels];
      break;
  }
}

/** Replays `ops` on `base`; "no objects" gives way when the merged image has annotations. */
export function applyOps(base: Doc, ops: readonly Op[]): Applied {
  const doc = cloneDoc(base);
  const conflicts: string[] = [];
  for (const op of ops) applyOne(doc, op, conflicts);
  if (doc.negative && (doc.boxes.length || doc.labels.length)) {
    doc.negative = false;
    if (ops.some((op) => op.t === "neg" && op.value)) {
      conflicts.push("Someone annotated this image, so it is no longer marked “no objects”.");
    }
  }
  return { doc, conflicts };
}

/** The op that undoes `op` as applied to `before`. */
export function inverse(before: Doc, op: Op): Op {
  switch (op.t) {
    case "add":
      return { t: "del", id: op.box.id };
    case "upd": {
      const prior = before.boxes.find((b) => b.id === op.box.id);
      return prior ? { t: "upd", box: { ...prior } } : { t: "del", id: op.box.id };
    }
    case "del": {
      const prior = before.boxes.find((b) => b.id === op.id);
      return prior ? { t: "add", box: { ...prior } } : { t: "del", id: op.id };
    }
    case "neg":
      return { t: "neg", value: before.negative };
    case "cls":
      return { t: "cls", labels: [...before.labels] };
  }
}

export function payload(doc: Doc): Record<string, unknown> {
  return {
    version: doc.version,
    negative: doc.negative,
    labels: doc.labels,
    boxes: doc.boxes.map(({ id, label, x, y, x2, y2 }) => ({ id, label, x, y, x2, y2 })),
  };
}

/** Whether two states would be saved as the same annotations (box order aside). */
export function sameContent(a: Doc, b: Doc): boolean {
  const key = (doc: Doc) => JSON.stringify([doc.negative, [...doc.labels].sort(), payload(doc).boxes]);
  const sorted = (doc: Doc) => ({ ...doc, boxes: [...doc.boxes].sort((p, q) => (p.id < q.id ? -1 : 1)) });
  return key(sorted(a)) === key(sorted(b));
}

export function isLabelled(doc: Doc): boolean {
  return doc.negative || doc.boxes.length > 0 || doc.labels.length > 0;
}

export function clampBox(box: Box): Box {
  const c = (v: number) => Math.min(1, Math.max(0, v));
  const [x, x2] = [c(Math.min(box.x, box.x2)), c(Math.max(box.x, box.x2))];
  const [y, y2] = [c(Math.min(box.y, box.y2)), c(Math.max(box.y, box.y2))];
  return { ...box, x, y, x2, y2 };
}

/** A v4 UUID; crypto.randomUUID exists only on HTTPS, and self-hosted instances often run plain HTTP. */
export function uuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
