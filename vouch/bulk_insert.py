"""Many append-only rows of one model in as few INSERTs as the database takes.

`QuerySet.bulk_create` builds a model instance per row and prepares every value of every
row; for the history rows and audit entries of a bulk status change (the CSV import, 80,000
changes a file) that Python was most of the cost. Here a row is a dict of the model's
attribute names, a field a row leaves out takes its default, and each value is still
prepared by its own field (`get_db_prep_save`, as `bulk_create` does), but a value repeated
down a column (the site, the actor, the time of the change) only once. No ids are read back:
use it only for rows nothing in the transaction needs the ids of, and no signals are sent
(`bulk_create` sends none either).
"""

from collections.abc import Sequence

from django.db import connections, router
from django.db.models import JSONField, Model


def insert_rows(model: type[Model], rows: Sequence[dict]) -> None:
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = [_column(field=field, rows=rows, connection=connection) for field in fields]
    prepared = [value for row in zip(*columns, strict=True) for value in row]
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    head = f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES "
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = max(1, connection.ops.bulk_batch_size(fields, rows))
    width = len(fields)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            count = min(size, len(rows) - start)
            cursor.execute(head + ", ".join([one] * count), prepared[start * width : (start + count) * width])


def _column(*, field, rows: Sequence[dict], connection) -> list:
    """One column's values, prepared by the field; a value seen before is not prepared again.
    In a JSON column values are keyed with their type (True and 1 are equal, but not the same
    JSON), an object by its items when they are hashable."""
    name, default, prepare = field.attname, field.get_default(), field.get_db_prep_save
    json = isinstance(field, JSONField)
    seen: dict = {}
    out = []
    for row in rows:
        value = row.get(name, default)
        try:
            key = _json_key(value) if json else value
            prepared = seen.get(key, _UNSEEN)
        except TypeError:  # unhashable: prepared each time
            out.append(prepare(value, connection))
            continue
        if prepared is _UNSEEN:
            seen[key] = prepared = prepare(value, connection)
        out.append(prepared)
    return out


_UNSEEN = object()


def _json_key(value) -> tuple:
    return (dict, *value.items()) if type(value) is dict else (type(value), value)
