// Who is on which image and other people's boxes in mid-drag, over the page's shared project
// socket (lib/projectsocket.ts), which also brings the server's events. Nothing is saved
// through it; after a reconnect the editor resyncs from the REST API because events may have
// been missed while disconnected.

import type { ProjectEvent } from "../lib/events";
import {
  CLOSE_NOT_AUTHENTICATED,
  CLOSE_NOT_MEMBER,
  type OutgoingMessage,
  type ProjectSocket,
  type SocketMessage,
} from "../lib/projectsocket";
import type { Box, Person } from "./types";

// Presence is re-announced this often; others forget a person silent for PRESENCE_TTL_MS.
const HEARTBEAT_MS = 30_000;
const PRESENCE_TTL_MS = 75_000;
const DRAFT_TTL_MS = 5_000;
const DRAFT_LINGER_MS = 1_500;

export interface LiveHooks {
  event(event: ProjectEvent): void;
  people(): void;
  drafts(): void;
  /** The socket reconnected: anything may have changed meanwhile. */
  resync(): void;
  expired(): void;
  refused(message: string): void;
}

interface Seen {
  user: Person;
  image: number | null;
  at: number;
}

export interface RemoteDraft {
  user: Person;
  image: number;
  boxes: Box[];
  until: number;
}

export class Live {
  private image: number | null = null;
  private seen = new Map<string, Seen>();
  readonly drafts = new Map<string, RemoteDraft>();

  constructor(
    private socket: ProjectSocket,
    private me: number,
    private hooks: LiveHooks,
  ) {
    window.setInterval(() => this.tick(), 1000);
    window.setInterval(() => this.send({ type: "presence", image: this.image }), HEARTBEAT_MS);
    socket.onOpen(() => this.send({ type: "presence", image: this.image }));
    socket.onResync(() => this.hooks.resync());
    socket.onMessage((message) => this.receive(message));
    socket.onEvent((event) => {
      if (event.event === "annotations.changed") this.dropDrafts(event.payload.image);
      this.hooks.event(event);
    });
    socket.onClose(({ code }) => this.closed(code));
  }

  connect(): void {
    this.socket.connect();
    if (this.socket.open) this.send({ type: "presence", image: this.image });
  }

  private closed(code: number): void {
    this.seen.clear();
    this.drafts.clear();
    this.hooks.people();
    this.hooks.drafts();
    if (code === CLOSE_NOT_AUTHENTICATED) this.hooks.expired();
    else if (code === CLOSE_NOT_MEMBER) this.hooks.refused("You are no longer a member of this project.");
  }

  connected(): boolean {
    return this.socket.open;
  }

  private send(message: OutgoingMessage): void {
    this.socket.send(message);
  }

  setImage(image: number | null): void {
    this.image = image;
    this.send({ type: "presence", image });
  }

  draft(image: number, boxes: Box[]): void {
    this.send({ type: "draft", image, boxes });
  }

  private receive(message: SocketMessage): void {
    const now = performance.now();
    switch (message.type) {
      case "presence":
        this.seen.set(message.channel, { user: message.user, image: message.image, at: now });
        this.hooks.people();
        break;
      case "left":
        this.seen.delete(message.channel);
        this.drafts.delete(message.channel);
        this.hooks.people();
        this.hooks.drafts();
        break;
      case "draft": {
        const linger = message.boxes.length ? DRAFT_TTL_MS : DRAFT_LINGER_MS;
        const previous = this.drafts.get(message.channel);
        // An emptied draft keeps showing the last outline until the save lands or briefly after.
        const boxes = message.boxes.length ? message.boxes : (previous?.boxes ?? []);
        this.drafts.set(message.channel, { user: message.user, image: message.image, boxes, until: now + linger });
        this.hooks.drafts();
        break;
      }
      case "error":
        if (message.code === "not_member") this.hooks.refused(message.message);
        break;
    }
  }

  private dropDrafts(image: number): void {
    for (const [channel, draft] of this.drafts) if (draft.image === image) this.drafts.delete(channel);
    this.hooks.drafts();
  }

  private tick(): void {
    const now = performance.now();
    let people = false;
    let drafts = false;
    for (const [channel, seen] of this.seen) {
      if (now - seen.at > PRESENCE_TTL_MS) people = this.seen.delete(channel);
    }
    for (const [channel, draft] of this.drafts) {
      if (now > draft.until) drafts = this.drafts.delete(channel);
    }
    if (people) this.hooks.people();
    if (drafts) this.hooks.drafts();
  }

  /** Other people (not this user's other tabs), once each, with the image they are on. */
  others(): Seen[] {
    const byUser = new Map<number, Seen>();
    for (const seen of this.seen.values()) {
      if (seen.user.id !== this.me && (!byUser.has(seen.user.id) || seen.at > byUser.get(seen.user.id)!.at)) {
        byUser.set(seen.user.id, seen);
      }
    }
    return [...byUser.values()];
  }

  byImage(): Map<number, Person[]> {
    const map = new Map<number, Person[]>();
    for (const seen of this.others()) {
      if (seen.image === null) continue;
      map.set(seen.image, [...(map.get(seen.image) ?? []), seen.user]);
    }
    return map;
  }
}
