// Run events for the training pages: `job.progress` events of kind "run" from the page's shared
// project socket (lib/projectsocket.ts), and polling of the REST API as the floor under them: a
// worker on another process only reaches websockets through a shared channel layer such as
// Redis, so the pages poll briskly while the socket is down, slowly while it is open, and at
// once after a reconnect (events may have been missed meanwhile).

import type { JobPayload } from "./events";
import { projectSocket } from "./projectsocket";

/** A run's job.progress payload: the whole run, or a running run's tick (status, progress, point, eval_point). */
export type RunPayload = Extract<JobPayload, { kind: "run" }>;

const POLL_MS_WITHOUT_SOCKET = 2000;
const POLL_MS_WITH_SOCKET = 10000;

export function followRuns(projectId: string, onRun: (run: RunPayload) => void, poll: () => Promise<void>): () => void {
  const socket = projectSocket(projectId);
  let stopped = false;
  let polling = false;
  let timer = 0;

  const tick = async () => {
    if (polling) return; // a reconnect asked while a poll was under way: that poll will do
    window.clearTimeout(timer);
    polling = true;
    try {
      await poll();
    } finally {
      polling = false;
      if (!stopped) timer = window.setTimeout(tick, socket.open ? POLL_MS_WITH_SOCKET : POLL_MS_WITHOUT_SOCKET);
    }
  };

  const unsubscribe = [
    socket.on("job.progress", (payload) => {
      if (payload.kind === "run") onRun(payload);
    }),
    socket.onResync(() => void tick()),
  ];
  socket.connect();
  timer = window.setTimeout(tick, POLL_MS_WITHOUT_SOCKET);
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    for (const off of unsubscribe) off();
  };
}

export function formatEta(seconds: number | null | undefined): string {
  if (seconds == null) return "";
  if (seconds < 60) return `${Math.round(seconds)} s left`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s left`;
}

export const ACTIVE = new Set(["queued", "running"]);
