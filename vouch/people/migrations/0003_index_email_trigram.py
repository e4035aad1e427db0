"""A trigram index on people's emails, so the portal's search by part of an email is an index
lookup on PostgreSQL. SQLite has no trigram index: there the migration does nothing and the
search uses the (site, email) index (see vouch.portal.selectors.people_by_email_part)."""

from django.db import migrations


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS person_email_trgm ON people_person USING gin (email gin_trgm_ops)"
        )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS person_email_trgm")


class Migration(migrations.Migration):
    dependencies = [("people", "0002_person_anonymised_at")]

    operations = [migrations.RunPython(create_trigram_index, drop_trigram_index)]
