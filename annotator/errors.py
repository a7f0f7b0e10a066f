"""The base of every refusal a service raises for a person to act on."""


class CodedError(Exception):
    """`code` is stable, for clients to branch on; `message` says what happened and what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
