// Run events for the training pages: the project's websocket when it is open, and polling
// of the REST API whenever it is not (a worker on another process only reaches websockets
// through a shared channel layer such as Redis, so polling is the floor, not an extra).

export type RunEvent = { event: string; payload: any };

const POLL_MS_WITHOUT_SOCKET = 2000;
const POLL_MS_WITH_SOCKET = 10000;

export function followRuns(projectId: string, onEvent: (e: RunEvent) => void, poll: () => Promise<void>): () => void {
  let socket: WebSocket | null = null;
  let open = false;
  let stopped = false;
  let timer = 0;

  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/projects/${projectId}/`);
    socket.onopen = () => (open = true);
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "event" && String(data.event).startsWith("run.")) onEvent({ event: data.event, payload: data.payload });
    };
    socket.onclose = () => {
      open = false;
      if (!stopped) window.setTimeout(connect, 5000);
    };
  };

  const tick = async () => {
    try {
      await poll();
    } finally {
      if (!stopped) timer = window.setTimeout(tick, open ? POLL_MS_WITH_SOCKET : POLL_MS_WITHOUT_SOCKET);
    }
  };

  connect();
  timer = window.setTimeout(tick, POLL_MS_WITHOUT_SOCKET);
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    socket?.close();
  };
}

export function formatEta(seconds: number | null | undefined): string {
  if (seconds == null) return "";
  if (seconds < 60) return `${Math.round(seconds)} s left`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s left`;
}

export const ACTIVE = new Set(["queued", "running"]);
