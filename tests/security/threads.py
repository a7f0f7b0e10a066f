"""Running calls in real threads that start at the same moment, for the race tests."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_together(*calls: Callable[[], object], timeout: float = 120) -> list[object]:
    """Start every call in its own thread behind one barrier; their results in order (or re-raise)."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except BaseException as exc:  # handed back to the test thread, which re-raises it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    return results
