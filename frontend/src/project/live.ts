// The project page's events: images added or deleted, annotations, reviews, labels, and the
// background jobs (imports, syncs) whose end brings images and labels. They come over the page's
// shared project socket (lib/projectsocket.ts), which the datasets panel (datasets.ts, a
// separate bundle) listens to as well: one socket for the page.

import type { ProjectEvent } from "../lib/events";
import { projectSocket, type ProjectSocket } from "../lib/projectsocket";

/** Listen to the project's events; `resync` runs after a reconnect (events may have been missed). */
export function connectProject(projectId: string, onEvent: (event: ProjectEvent) => void, resync: () => void): ProjectSocket {
  const socket = projectSocket(projectId);
  socket.onEvent(onEvent);
  socket.onResync(resync);
  socket.connect();
  return socket;
}
