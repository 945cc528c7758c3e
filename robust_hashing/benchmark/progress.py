"""What the runner prints while a grid runs, and what it says about a failed cell."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO


class Progress:
    """Plain-line progress view: counts of done / running / failed and time per cell."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total, self.stream = total, stream or sys.stdout
        self.done = self.failed = self.running = self.skipped = 0

    def line(self, event: str, cell_id: str, seconds: float | None = None) -> None:
        """Print one event with the current counters."""
        took = f" {seconds:7.1f}s" if seconds is not None else " " * 9
        finished = self.done + self.failed + self.skipped
        print(
            f"[{finished:>3}/{self.total}] {event:<7}{took}  {cell_id}  "
            f"(done {self.done}, running {self.running}, failed {self.failed})",
            file=self.stream,
            flush=True,
        )


def last_error_line(log: Path, width: int = 160) -> str:
    """The last non-blank line of a worker log (the exception of a traceback), shortened."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    line = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"
