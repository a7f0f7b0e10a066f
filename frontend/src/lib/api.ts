// A small fetch wrapper for the REST API: session cookie, CSRF header, typed errors.

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public body: any = null,
  ) {
    super(message);
  }
}

// The fields a refusal names: `error.field` (one, from a service) or the keys of `error.details`
// (a validation error; nested blocks such as `storage` name their own fields). `error.message`
// already spells the field messages out for people ("Name: Ensure this field has no more than
// 100 characters."); this is for putting the cursor where the problem is.
export function invalidFields(error: ApiError): string[] {
  const body = error.body?.error ?? {};
  if (typeof body.field === "string") return [body.field];
  const names: string[] = [];
  const walk = (detail: unknown) => {
    if (!detail || typeof detail !== "object" || Array.isArray(detail)) return;
    for (const [name, value] of Object.entries(detail)) {
      if (value && typeof value === "object" && !Array.isArray(value)) walk(value);
      else names.push(name);
    }
  };
  walk(body.details);
  return names;
}

export function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api<T = any>(url: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");
  if (init.body && !(init.body instanceof FormData)) headers.set("Content-Type", "application/json");
  if (init.method && init.method !== "GET") headers.set("X-CSRFToken", csrfToken());
  const response = await fetch(url, { credentials: "same-origin", ...init, headers });
  if (response.status === 204) return undefined as T;
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body?.error ?? {};
    throw new ApiError(response.status, error.code ?? "http_error", error.message ?? response.statusText, body);
  }
  return body as T;
}

export interface Label {
  id: number;
  name: string;
  color: string;
  order: number;
}

export interface ImageItem {
  id: number;
  key: string;
  width: number;
  height: number;
  status: string;
  version: number;
  negative: boolean;
  labels: number[];
  box_count: number;
  /** Written by bulk auto-label and not yet saved by a person (issue #12). */
  auto_labelled?: boolean;
  /** The assist model's uncertainty about the image, null until it predicted it. */
  uncertainty?: number | null;
  url: string;
  thumbnail_url: string;
}

export interface Page<T> {
  next: string | null;
  previous: string | null;
  results: T[];
}
