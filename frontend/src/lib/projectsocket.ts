// The page's one connection to the project websocket (annotator/consumers.py), shared by every
// script on the page that listens: the editor's presence and drafts, the project page and its
// datasets panel, the Bucket page, the training pages.
//
// Invariants:
// - One socket per project per page, even across bundles: the project page loads project.js and
//   datasets.js, each with its own copy of this module, so the instance lives in a page-global
//   registry (`projectSocket` creates it once, later callers get the same one).
// - Nothing is saved through it. Events may be missed while it is down, so after a reconnect it
//   calls every `onResync` subscriber: each re-reads what it shows from the REST API.
// - Reconnects back off (1 s doubling to 10 s, with jitter) except after the consumer's final
//   close codes, 4401 "log in" and 4404 "not a member": reconnecting cannot help there, so it
//   stops until someone calls `connect()` again (the editor does, once the user has logged in).
//   4001 "session changed" (a logout or password change somewhere) is not final: the reconnect
//   re-authenticates with the browser's current cookie, and a real logout then ends in 4401.
// - A ping every 30 s keeps proxies from closing an idle socket and finds a dead one: if nothing
//   at all arrives within 10 s of a ping, the socket is dropped and reconnected.
// - Only the catalogue's event names (lib/events.ts) reach `on`/`onEvent` subscribers; the
//   presence/draft messages (hello, presence, left, draft, pong, error) go to `onMessage`.
// - The socket counts as open when the server's `hello` arrives, not at the browser's `open` event:
//   a refused handshake is accepted and closed at once with its code (so that the code reaches
//   the browser), and such a socket must not count as back (no resync, no reset of the backoff).
// - <body data-project-socket="open|closed"> tells the socket's state (end-to-end tests wait on it).

import { type EventName, isEventName, type PayloadOf, type ProjectEvent } from "./events";

const HEARTBEAT_MS = 30_000;
const PONG_TIMEOUT_MS = 10_000;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 10_000;
export const CLOSE_NOT_AUTHENTICATED = 4401;
export const CLOSE_NOT_MEMBER = 4404;
const FINAL_CLOSE_CODES = new Set([CLOSE_NOT_AUTHENTICATED, CLOSE_NOT_MEMBER]);

export interface Person {
  id: number;
  name: string;
}

/** A box in mid-drag, coordinates normalised to 0..1 (the editor's Box). */
export interface DraftBox {
  id: string;
  label: number;
  x: number;
  y: number;
  x2: number;
  y2: number;
}

/** What the socket says that is not an event: presence, drafts, answers to our own messages. */
export type SocketMessage =
  | { type: "hello"; channel: string; user: Person }
  | { type: "presence"; channel: string; user: Person; image: number | null }
  | { type: "left"; channel: string }
  | { type: "draft"; channel: string; user: Person; image: number; boxes: DraftBox[] }
  | { type: "pong" }
  | { type: "error"; code: string; message: string };

/** What a page may send: the editor's presence and drafts (ping is the client's own). */
export type OutgoingMessage =
  | { type: "presence"; image: number | null }
  | { type: "draft"; image: number; boxes: DraftBox[] }
  | { type: "ping" };

export interface Closed {
  code: number;
  /** A final close (4401, 4404): no reconnect until `connect()` is called again. */
  final: boolean;
}

type Handler<T> = (value: T) => void;

class Subscribers<T> {
  private handlers = new Set<Handler<T>>();

  add(handler: Handler<T>): () => void {
    this.handlers.add(handler);
    return () => void this.handlers.delete(handler);
  }

  /** One subscriber's failure must not keep the news from the others. */
  call(value: T): void {
    for (const handler of [...this.handlers]) {
      try {
        handler(value);
      } catch (error) {
        console.error(error);
      }
    }
  }
}

export class ProjectSocket {
  private ws: WebSocket | null = null;
  private wanted = false;
  private openedBefore = false;
  /** The server's hello arrived on the current socket (see the invariants above). */
  private welcomed = false;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer = 0;
  private heartbeatTimer = 0;
  private pongTimer = 0;
  private readonly events = new Subscribers<ProjectEvent>();
  private readonly messages = new Subscribers<SocketMessage>();
  private readonly opens = new Subscribers<boolean>();
  private readonly resyncs = new Subscribers<void>();
  private readonly closes = new Subscribers<Closed>();

  constructor(readonly path: string) {}

  /** Start (or restart after a final close); nothing happens while already connecting or open. */
  connect(): void {
    this.wanted = true;
    if (this.ws || this.retryTimer) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.ws = ws;
    ws.addEventListener("message", (e) => this.received(ws, e.data));
    ws.addEventListener("close", (e) => this.closed(ws, e.code));
  }

  /** Stop for good (until `connect()`): no reconnect. */
  close(): void {
    this.wanted = false;
    window.clearTimeout(this.retryTimer);
    this.retryTimer = 0;
    const ws = this.ws;
    if (ws) this.drop(ws, 1000);
  }

  get open(): boolean {
    return this.welcomed && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Sent only while open (false otherwise): nothing queues, the socket is not a persistence path. */
  send(message: OutgoingMessage): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  /** One event by name, its payload typed. Returns the unsubscribe function. */
  on<N extends EventName>(name: N, handler: (payload: PayloadOf<N>) => void): () => void {
    return this.events.add((event) => {
      if (event.event === name) handler(event.payload as PayloadOf<N>);
    });
  }

  /** Every catalogue event. */
  onEvent(handler: Handler<ProjectEvent>): () => void {
    return this.events.add(handler);
  }

  /** Presence, drafts, pong and error messages. */
  onMessage(handler: Handler<SocketMessage>): () => void {
    return this.messages.add(handler);
  }

  /** Every time the socket opens; `reconnected` is false the first time. */
  onOpen(handler: (reconnected: boolean) => void): () => void {
    return this.opens.add(handler);
  }

  /** The socket is back after being down: events may have been missed, re-read the state. */
  onResync(handler: () => void): () => void {
    return this.resyncs.add(handler);
  }

  onClose(handler: Handler<Closed>): () => void {
    return this.closes.add(handler);
  }

  private opened(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.retryMs = FIRST_RETRY_MS;
    const reconnected = this.openedBefore;
    this.openedBefore = true;
    this.welcomed = true;
    document.body.dataset.projectSocket = "open";
    window.clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = window.setInterval(() => this.ping(ws), HEARTBEAT_MS);
    this.opens.call(reconnected);
    if (reconnected) this.resyncs.call();
  }

  private ping(ws: WebSocket): void {
    if (ws !== this.ws || !this.send({ type: "ping" })) return;
    window.clearTimeout(this.pongTimer);
    // Anything arriving proves the socket alive; silence means a dead connection the browser has not noticed.
    this.pongTimer = window.setTimeout(() => this.drop(ws, 4000), PONG_TIMEOUT_MS);
  }

  private received(ws: WebSocket, data: unknown): void {
    if (ws !== this.ws) return;
    window.clearTimeout(this.pongTimer);
    let message: any;
    try {
      message = JSON.parse(String(data));
    } catch {
      return; // the consumer sends JSON only; anything else is noise
    }
    if (!message || typeof message !== "object") return;
    if (message.type === "event") {
      // Names outside the catalogue (an older server's) are dropped, not guessed at.
      if (isEventName(message.event)) this.events.call({ event: message.event, payload: message.payload ?? {} } as ProjectEvent);
    } else if (typeof message.type === "string") {
      if (message.type === "hello") this.opened(ws);
      this.messages.call(message as SocketMessage);
    }
  }

  /** Give up on this socket now, without waiting for the browser's close handshake. */
  private drop(ws: WebSocket, code: number): void {
    try {
      ws.close(code);
    } catch {
      /* already closing */
    }
    this.closed(ws, code);
  }

  private closed(ws: WebSocket, code: number): void {
    if (ws !== this.ws) return;
    this.ws = null;
    this.welcomed = false;
    window.clearInterval(this.heartbeatTimer);
    window.clearTimeout(this.pongTimer);
    document.body.dataset.projectSocket = "closed";
    const final = FINAL_CLOSE_CODES.has(code);
    if (final) this.wanted = false;
    this.closes.call({ code, final });
    if (!this.wanted) return;
    const delay = this.retryMs * (0.8 + Math.random() * 0.4);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = 0;
      if (this.wanted) this.connect();
    }, delay);
  }
}

// Page-global, so that separately bundled scripts share it (see the invariants above).
const REGISTRY = Symbol.for("annotator.projectSockets");

/** The page's socket for the project (created on first use, not connected until `connect()`). */
export function projectSocket(projectId: number | string, path = `/ws/projects/${projectId}/`): ProjectSocket {
  const global = globalThis as unknown as Record<symbol, Map<string, ProjectSocket> | undefined>;
  const sockets = (global[REGISTRY] ??= new Map<string, ProjectSocket>());
  const key = String(projectId);
  let socket = sockets.get(key);
  if (!socket) {
    socket = new ProjectSocket(path);
    sockets.set(key, socket);
  }
  return socket;
}
