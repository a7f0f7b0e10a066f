"""Why an import or export did not happen, in a form the API, the CLI and a job row all show."""

from __future__ import annotations

from typing import Any

from annotator.errors import CodedError
from annotator.formats import FormatError


class DatasetError(CodedError):
    """A refusal a person can act on: a stable `code`, a message, and the records at fault.

    The API refuses a request with it as a 400 (code and message); a job keeps `errors` too.
    """

    def __init__(self, code: str, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(code, message)
        self.errors = errors or []

    @classmethod
    def from_format_error(cls, error: FormatError) -> DatasetError:
        return cls(error.code, str(error), [error.as_dict()])

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "errors": self.errors}
