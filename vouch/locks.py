"""The one place rows are locked, always in primary-key order so two
transactions locking the same rows cannot deadlock (Saleor's lock_objects).
SQLite ignores row locks: there a write transaction is serialised as a whole
(IMMEDIATE mode), which gives the same guarantee."""

from django.db.models import Model, QuerySet


def lock_rows(queryset: QuerySet) -> list[Model]:
    return list(queryset.select_for_update().order_by("pk"))


def lock_row(model: type[Model], *, pk: int) -> Model:
    return model.objects.select_for_update().get(pk=pk)
