// Shapes shared by the editor's modules. Coordinates are normalised to 0..1 (x, y, x2, y2).

export interface Box {
  id: string;
  label: number;
  x: number;
  y: number;
  x2: number;
  y2: number;
}

/** An image's annotation set as the API returns it. */
export interface Doc {
  image: number;
  version: number;
  status: string;
  negative: boolean;
  labels: number[];
  boxes: Box[];
}

/** One user edit. Ops are replayed on the server's current state when a save is refused as stale. */
export type Op =
  | { t: "add"; box: Box }
  | { t: "upd"; box: Box }
  | { t: "del"; id: string }
  | { t: "neg"; value: boolean }
  | { t: "cls"; labels: number[] };

export interface Config {
  projectId: number;
  type: "localization" | "classification";
  api: string;
  ws: string;
  loginUrl: string;
  userId: number;
  canAnnotate: boolean;
  canCreateLabel: boolean;
}

export interface Person {
  id: number;
  name: string;
}
