"""`insert_rows` writes what `bulk_create` would: every value prepared by its field, defaults
for fields left out, repeated values prepared once without mixing up equal values of other
types, and more rows than one statement takes."""

from datetime import UTC, datetime

from vouch.audit.models import AuditEntry
from vouch.audit.services import ActorRef, AuditItem, audit_record, audit_record_many
from vouch.bulk_insert import insert_rows

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def entry_values():
    return list(
        AuditEntry.objects.order_by("id").values_list(
            "site_id", "actor", "actor_label", "action", "object_id", "before", "after", "ip", "created_at"
        )
    )


def test_rows_as_bulk_create_writes_them(site):
    rows = [
        {
            "site_id": site.pk,
            "actor": "import",
            "action": "x",
            "object_type": "referral",
            "object_id": str(i),
            "before": before,
            "after": {"n": i, "nested": {"list": [i]}},
            "created_at": AT,
        }
        for i, before in enumerate([{"v": True}, {"v": 1}, True, 1, None, 1.0, [1, 2], "text"] * 40)
    ]
    insert_rows(AuditEntry, rows)
    inserted = entry_values()
    AuditEntry.objects.all().delete()
    AuditEntry.objects.bulk_create(AuditEntry(**row) for row in rows)

    assert len(inserted) == 320
    assert inserted == entry_values()
    befores = [b for _, _, _, _, _, b, *_ in inserted[:8]]
    assert befores == [{"v": True}, {"v": 1}, True, 1, None, 1.0, [1, 2], "text"]
    assert [type(b) for b in befores[2:4]] == [bool, int]
    assert inserted[0][2] == "" and inserted[0][7] == ""  # defaults of the fields left out


def test_audit_record_many_writes_the_entries_audit_record_writes(site):
    actor = ActorRef(kind="staff", label="Ann", ip="10.0.0.1")
    items = [AuditItem("referral.approve", "referral", 7, {"status": "pending"}, {"status": "approved"})] * 2
    audit_record_many(site_id=site.pk, actor=actor, items=items)
    audit_record(
        site=site,
        actor=actor,
        action="referral.approve",
        object_type="referral",
        object_id=7,
        before={"status": "pending"},
        after={"status": "approved"},
    )

    first, second, one = (row[:-1] for row in entry_values())
    assert first == second == one
