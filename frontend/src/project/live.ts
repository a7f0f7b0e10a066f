// The project page's websocket: the server's committed-change events (images added or
// deleted, annotations, labels, imports, exports, syncs), reconnecting when it drops.
// Other scripts on the page (the datasets panel) hear the same events as DOM events, so
// the page keeps one socket: `project:event` with {name, payload}, `project:socket` with {open}
// (and the socket's state in <body data-project-socket>, for a script that starts later).

const RECONNECT_MS = 3000;
// The consumer's close codes for "log in" and "not a member": reconnecting cannot help.
const FINAL_CLOSE_CODES = new Set([4401, 4404]);

export type ProjectEvent = { name: string; payload: Record<string, any> };

function announce(open: boolean): void {
  document.body.dataset.projectSocket = open ? "open" : "closed";
  document.dispatchEvent(new CustomEvent("project:socket", { detail: { open } }));
}

export function connectProject(projectId: string, onEvent: (event: ProjectEvent) => void, onOpen: () => void): void {
  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/projects/${projectId}/`);
    socket.onopen = () => {
      announce(true);
      onOpen();
    };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type !== "event") return;
      const event = { name: String(data.event), payload: data.payload ?? {} };
      onEvent(event);
      document.dispatchEvent(new CustomEvent("project:event", { detail: event }));
    };
    socket.onclose = (close) => {
      announce(false);
      if (!FINAL_CLOSE_CODES.has(close.code)) window.setTimeout(connect, RECONNECT_MS);
    };
  };
  connect();
}
