from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_tally_triggers(using: str, **_) -> None:
    """SQLite drops a table's triggers when a migration rebuilds the table: put them back."""
    from django.db import connections

    from vouch.people.tallies import tally_triggers_ensure

    tally_triggers_ensure(using=connections[using])


class PeopleConfig(AppConfig):
    name = "vouch.people"
    label = "people"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_ensure_tally_triggers, sender=self, dispatch_uid="vouch.people.tally_triggers")
