"""Rows one business transaction reads many times and never writes, read once.

One purchase reads its site's blacklist, webhook endpoints and email-template
overrides again for every fraud check, reward and email it produces. Inside
`reads_cached()` (which `event_ingest` opens around its transaction) `cached(key,
load)` runs `load` once per key and hands back the same value after that; outside
it, every call loads. The values live in a context variable for that block only, so
nothing outlives the transaction that read it: a second process, or the next
transaction, reads afresh. Only rows the block does not write may be cached this way,
and callers must not change the values (tuples, frozen objects); the one exception is
a set that its only writer in the block keeps up to date (the rewards a referral's
rules issued, `vouch.rules.services`).
"""

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_values: ContextVar[dict | None] = ContextVar("read_cache", default=None)


@contextmanager
def reads_cached() -> Iterator[None]:
    """Within this block, `cached` loads each key once."""
    token = _values.set({})
    try:
        yield
    finally:
        _values.reset(token)


def cached(key: Hashable, load: Callable[[], T]) -> T:
    """`load()`, once per key inside `reads_cached()`; every time outside it."""
    values = _values.get()
    if values is None:
        return load()
    if key not in values:
        values[key] = load()
    return values[key]


def remember(key: Hashable, value: object) -> None:
    """What `cached(key, …)` hands back from now on inside `reads_cached()`, when the caller
    knows it without a query (nothing outside the block)."""
    values = _values.get()
    if values is not None:
        values[key] = value
