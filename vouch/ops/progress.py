"""A progress line for long commands, on stderr: rows done of the total, percent and rows/s.

On a terminal it redraws one line (at most five times a second); otherwise (a log file, a
pipe) it writes a line every `every` rows, so logs stay short. No dependency for one line."""

import time
from collections.abc import Callable
from typing import TextIO


def progress_text(*, done: int, total: int | None, seconds: float) -> str:
    rate = done / seconds if seconds > 0 else 0.0
    if total:
        share = min(done / total, 1.0)
        bar = ("#" * round(share * 30)).ljust(30, ".")
        return f"[{bar}] {done:,} of {total:,} rows read ({share:.0%}), {rate:,.0f} rows/s"
    return f"{done:,} rows read, {rate:,.0f} rows/s"


class Progress:
    def __init__(
        self,
        out: TextIO,
        *,
        total: int | None = None,
        every: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.out, self.total, self.every, self.clock = out, total, every, clock
        self.started = self.shown_at = clock()
        self.done = 0
        self.live = bool(getattr(out, "isatty", lambda: False)())

    def __call__(self, done: int) -> None:
        before, self.done = self.done, done
        now = self.clock()
        if self.live and now - self.shown_at >= 0.2:
            self.shown_at = now
            self.out.write("\r" + self._text(now))
            self.out.flush()
        elif not self.live and done // self.every > before // self.every:
            self.out.write(self._text(now) + "\n")

    def finish(self) -> None:
        if self.live:
            self.out.write("\r" + self._text(self.clock()) + "\n")
            self.out.flush()

    def _text(self, now: float) -> str:
        return progress_text(done=self.done, total=self.total, seconds=now - self.started)
