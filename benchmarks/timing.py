"""Time the steps ``analyze()`` announces through its ``progress`` callback (shared by the benchmarks)."""

from __future__ import annotations

import time


class StepTimer:
    """Pass :meth:`progress` as ``analyze(progress=...)``: each call closes the running step and starts the next.

    ``steps`` holds ``(name, seconds)`` of every closed step, the first being the time before the first
    announced one (``first``).
    """

    def __init__(self, first: str) -> None:
        self.steps: list[tuple[str, float]] = []
        self._step, self._since = first, time.perf_counter()

    def progress(self, step: str) -> None:
        """Close the running step and start ``step``."""
        now = time.perf_counter()
        self.steps.append((self._step, now - self._since))
        self._step, self._since = step, now
