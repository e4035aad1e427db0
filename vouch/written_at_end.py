"""Rows one business transaction writes and never reads back, inserted together at its end.

A purchase with program rules gives several rewards, and each reward writes a status
change per step (new → pending → given) and an email: one INSERT each, about a fifth of
what the rules add to an ingest. Inside `written_at_end()` (which `event_ingest` opens
inside its transaction) `insert(row)` keeps the row, and the block's end writes the kept
rows with one `bulk_create` per model, in the order they were kept; outside it, `insert`
writes at once. Either way the rows are in the same transaction as what caused them, with
the values (reason, time) they had when kept: if the transaction fails, none is written.

Only rows that nothing in the block reads back (by query or by primary key) may be
kept this way, and only rows whose foreign keys point at rows already written.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import Model

_kept: ContextVar[list[Model] | None] = ContextVar("written_at_end", default=None)


@contextmanager
def written_at_end() -> Iterator[None]:
    """Within this block, `insert` keeps rows for one insert per model at its end."""
    token = _kept.set([])
    try:
        yield
        _write(_kept.get())
    finally:
        _kept.reset(token)


def insert(*rows: Model) -> None:
    """Write these new rows: at the end of the enclosing `written_at_end()` block, or now
    (one insert per model) outside one."""
    kept = _kept.get()
    if kept is None:
        _write(rows)
    else:
        kept.extend(rows)


def _write(rows) -> None:
    by_model: dict[type[Model], list[Model]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row)
    for model, listed in by_model.items():
        model.objects.bulk_create(listed)
