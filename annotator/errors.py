"""The base of every refusal a service raises for a person to act on.

Invariants: `code` is stable (clients and tests branch on it), `message` says what happened and
what to do, and `status` is the HTTP status of the refusal, always 4xx (5xx only for a service
outside us that failed). The API's exception handler (annotator.api.errors) answers any CodedError
a view lets through with `{"error": {"code", "message", **details}}` and that status, so views do
not translate them by hand; pages and the websocket show `message` their own way.
"""

from __future__ import annotations

from typing import Any


class CodedError(Exception):
    """`code` is stable, for clients to branch on; `message` says what happened and what to do.

    Subclasses set the `status` their refusals usually have; one refusal may say otherwise
    (`status=409`). `details` are extra keys of the error envelope, e.g. the running job a 409
    is about, or `retry_after` (which also becomes the Retry-After header).
    """

    status: int = 400

    def __init__(self, code: str, message: str, status: int | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.details = details
