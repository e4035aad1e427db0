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
from django.db.models import Model


def insert_rows(model: type[Model], rows: Sequence[dict]) -> None:
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    defaults = {field.attname: field.get_default() for field in fields}
    memo: list[dict] = [{} for _ in fields]
    prepared = []
    for row in rows:
        for column, field in enumerate(fields):
            value = row.get(field.attname, defaults[field.attname])
            seen = memo[column]
            try:
                prepared.append(seen[value])
            except KeyError:
                seen[value] = out = field.get_db_prep_save(value, connection)
                prepared.append(out)
            except TypeError:  # unhashable (a JSON value): prepared each time
                prepared.append(field.get_db_prep_save(value, connection))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    head = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    size = max(1, connection.ops.bulk_batch_size(fields, rows))
    width = len(fields)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            count = min(size, len(rows) - start)
            cursor.execute(head + ", ".join([one] * count), prepared[start * width : (start + count) * width])
