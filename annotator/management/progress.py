"""A one-line progress bar for operator commands, drawn only when a person is watching (a TTY)."""

from __future__ import annotations

from django.core.management.base import OutputWrapper

_WIDTH = 30
_PHASES = {"reading": "Reading annotations", "images": "Storing images", "database": "Writing rows"}


class ProgressBar:
    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self._drawn = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        label = _PHASES.get(phase, phase.capitalize())
        if total:
            filled = _WIDTH * done // total
            line = f"{label:<20} [{'#' * filled}{'.' * (_WIDTH - filled)}] {done}/{total}"
        else:
            line = f"{label:<20} …"
        self.stream.write(f"\r{line:<80}", ending="")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("")
            self.stream.flush()
