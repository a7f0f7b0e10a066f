// The project websocket's events, typed: `{"type": "event", "event": NAME, "payload": {...}}`.
//
// The catalogue is closed: these names and no others (annotator/events.py EVENTS holds the same
// list, and tests/annotator/test_events_catalogue.py checks that the two agree, by reading the
// event names of ProjectEvent's members below, one member per line). Each payload is what the server's
// `broadcast(...)` sends after the change is committed; see docs/editor.md, "The project websocket".
//
// Background jobs (bucket syncs, dataset imports and exports, training runs, predictions and
// auto-labels) share one event,
// `job.progress`, whose payload is a possibly partial copy of the job: always its kind, id and
// status, and otherwise the fields its REST API returns. Clients merge it into their copy of the
// job with the same (kind, id) (`mergeJob`); an id they do not hold yet is a new job.

export type JobKind = "sync" | "import" | "export" | "run" | "predict" | "autolabel";
export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export type Role = "owner" | "admin" | "annotator" | "reviewer" | "viewer";
export type ImageStatus = "unlabelled" | "labelled" | "approved" | "rejected";
/** A point of a curve: [step, value]. */
export type CurvePoint = [number, number];

/** What every job.progress payload carries, whatever the kind. */
export interface JobKey {
  kind: JobKind;
  id: number;
  status: JobStatus;
}

interface JobTimes {
  /** A stable code clients branch on, and a message for people; empty unless failed. */
  error_code: string;
  error: string;
  heartbeat_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  created_at: string;
}

/** GET …/sync/{id}/ (SyncJobSerializer). */
export interface SyncJob extends JobTimes {
  kind: "sync";
  id: number;
  status: JobStatus;
  project: number;
  requested_by: number | null;
  listed: number;
  added: number;
  replaced: number;
  missing: number;
  restored: number;
  skipped: number;
  header_reads: number;
  annotations_imported: number;
  problems: { key: string; message: string }[];
}

interface DatasetJob extends JobTimes {
  id: number;
  status: JobStatus;
  format: string;
  phase: string;
  done: number;
  total: number;
  report: Record<string, any>;
  created_by: string | null;
}

/** GET …/imports/{id}/ (ImportJobSerializer). */
export interface ImportJob extends DatasetJob {
  kind: "import";
  file_name: string;
  skip_invalid: boolean;
}

/** GET …/exports/{id}/ (ExportJobSerializer); the event leaves download_url out or null (links are per user). */
export interface ExportJob extends DatasetJob {
  kind: "export";
  split: number;
  size_bytes: number | null;
  download_url?: string | null;
}

/** A training run's `progress` (training/progress.py): every key may be missing. */
export interface RunProgress {
  phase?: string;
  step?: number;
  total_steps?: number;
  epoch?: number;
  total_epochs?: number;
  loss?: number | null;
  val_metric?: number | null;
  eta_seconds?: number | null;
  [key: string]: unknown;
}

/** GET …/runs/{id}/ without the curves and log (RunSerializer). The run's own kind (detection or
 *  classification) is the REST field `kind`; in an event `kind` is "run", so read it from the API. */
export interface RunJob extends JobTimes {
  kind: "run";
  id: number;
  status: JobStatus;
  project: number;
  hyperparameters: Record<string, unknown>;
  snapshot_key: string;
  snapshot_sha256: string;
  dataset_summary: Record<string, unknown>;
  metrics: Record<string, any>;
  progress: RunProgress | null;
  attempts: number;
  worker: string;
  created_by: string | null;
  urls: { detail: string; cancel: string; artifacts: string; page: string };
  base_run: number | null;
  /** What a succeeded run offers for download (events only; empty until it has succeeded). */
  artifacts?: { name: string; size_bytes: number; verified: boolean }[];
}

/** A running training run's frequent tick: only these keys. */
export interface RunTick {
  kind: "run";
  id: number;
  status: JobStatus;
  progress: RunProgress;
  /** The newest [step, loss] of the loss curve, or null. */
  point: CurvePoint | null;
  /** The validation point measured since the last tick, or null. */
  eval_point: CurvePoint | null;
}

/** GET …/predictions/{id}/ (PredictionJobSerializer): the assist model over a set of images. */
export interface PredictionJob extends JobTimes {
  kind: "predict";
  id: number;
  status: JobStatus;
  project: number;
  run: number;
  scope: "unlabelled" | "unpredicted" | "all" | "filter" | "images";
  filters: Record<string, unknown>;
  auto: boolean;
  images_total: number;
  images_done: number;
  images_failed: number;
  suggestions_created: number;
  runtime: string;
  images_per_second: number | null;
  dropped_labels: string[];
  created_by: number | null;
}

/** GET …/auto-label/{id}/ (AutoLabelJobSerializer): suggestions written onto never-annotated images. */
export interface AutoLabelJob extends JobTimes {
  kind: "autolabel";
  id: number;
  status: JobStatus;
  project: number;
  run: number;
  threshold: number;
  images_total: number;
  images_done: number;
  images_labelled: number;
  boxes_created: number;
  per_label: Record<string, number>;
  created_by: number | null;
}

/** A job.progress payload: the kind, id and status, and any of that kind's fields. */
export type JobPayload =
  | (JobKey & { kind: "sync" } & Partial<SyncJob>)
  | (JobKey & { kind: "import" } & Partial<ImportJob>)
  | (JobKey & { kind: "export" } & Partial<ExportJob>)
  | (JobKey & { kind: "run" } & Partial<RunJob> & Partial<RunTick>)
  | (JobKey & { kind: "predict" } & Partial<PredictionJob>)
  | (JobKey & { kind: "autolabel" } & Partial<AutoLabelJob>);

export interface LabelItem {
  id: number;
  name: string;
  color: string;
  order: number;
}

export type ProjectEvent =
  | { event: "annotations.changed"; payload: { image: number; version: number } }
  | { event: "image.created"; payload: { id: number; key: string } }
  | { event: "image.deleted"; payload: { id: number } }
  | { event: "image.reviewed"; payload: { image: number; status: ImageStatus; version: number; review: number | null } }
  | { event: "images.imported"; payload: { created: number; annotated: number } }
  | { event: "labels.changed"; payload: { labels: LabelItem[]; images: number } }
  | { event: "membership.changed"; payload: { user: number; role: Role } }
  | { event: "membership.removed"; payload: { user: number } }
  | { event: "suggestions.changed"; payload: { run: number; images: number[] } }
  | { event: "job.progress"; payload: JobPayload };

export type EventName = ProjectEvent["event"];
export type PayloadOf<N extends EventName> = Extract<ProjectEvent, { event: N }>["payload"];

// The names again, as a value: a message naming anything else is dropped by the client.
const NAMES: Record<EventName, true> = {
  "annotations.changed": true,
  "image.created": true,
  "image.deleted": true,
  "image.reviewed": true,
  "images.imported": true,
  "labels.changed": true,
  "membership.changed": true,
  "membership.removed": true,
  "suggestions.changed": true,
  "job.progress": true,
};

export function isEventName(name: unknown): name is EventName {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(NAMES, name);
}

export const FINISHED_JOB = new Set<JobStatus>(["succeeded", "failed", "cancelled"]);
export const ACTIVE_JOB = new Set<JobStatus>(["queued", "running"]);

/** The payload of `kind`, narrowed; null for another kind's job. */
export function jobOf<K extends JobKind>(payload: JobPayload, kind: K): Extract<JobPayload, { kind: K }> | null {
  return payload.kind === kind ? (payload as Extract<JobPayload, { kind: K }>) : null;
}

/**
 * Merge a job.progress payload into `jobs` (the jobs of one kind a page holds, by id): the job
 * with that id gets the payload's fields; an id not held yet becomes a new job (first, the
 * lists are newest first). Returns the merged job. `keep` names fields a null in the payload
 * must not wipe (an export's per-user download link, which events never carry).
 */
export function mergeJob<T extends { id: number }>(jobs: T[], payload: Partial<T> & { id: number }, keep: (keyof T)[] = []): T {
  const index = jobs.findIndex((job) => job.id === payload.id);
  const old = index >= 0 ? jobs[index] : ({} as T);
  const merged = { ...old, ...payload } as T;
  for (const key of keep) if (merged[key] == null && old[key] != null) merged[key] = old[key];
  if (index >= 0) jobs[index] = merged;
  else jobs.unshift(merged);
  return merged;
}
