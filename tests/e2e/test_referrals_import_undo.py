"""Undoing an applied CSV import: every change goes back through its pipeline, or none does."""

import pytest
from django.core.management import CommandError, call_command

from tests.e2e.test_referrals_import import (  # noqa: F401 (the fixtures pending_campaign and referrals)
    BLOCKED_RULE,
    by_line,
    pending_campaign,
    referrals,
    snapshot,
    upload,
)
from vouch.audit.models import AuditEntry
from vouch.audit.services import ActorRef
from vouch.campaigns.models import Campaign
from vouch.referrals.models import Referral, StatusChange
from vouch.referrals.services import referral_create_by_hand


@pytest.fixture
def sales(campaign, site):
    """Three pending referrals in a campaign on the sales pipeline."""
    Campaign.objects.filter(site=site, slug="spring").update(pipeline="sales")
    spring = Campaign.objects.get(site=site, slug="spring")
    made = [
        referral_create_by_hand(
            campaign=spring,
            advocate_email=f"advocate{i}@example.com",
            friend_email=f"friend{i}@example.com",
            actor=ActorRef(kind="staff", label="test"),
            subtotal=10,
        )
        for i in range(3)
    ]
    assert {r.status for r in made} == {"pending"}
    return [r.pk for r in made]


def mixed_csv(first: int, second: int, approved: int) -> str:
    return (
        "referralkey_ID,status,note\n"
        f"{first},denied,No sale\n"
        "999999,denied,\n"
        f"{approved},pending,\n"
        "garbage,\n"
        f"{second},Denied,\n"
    )


def statuses(*ids: int) -> list[str]:
    found = dict(Referral.objects.filter(pk__in=ids).values_list("pk", "status"))
    return [found[pk] for pk in ids]


def test_dry_run_apply_and_undo_of_good_rows_an_unknown_key_a_refused_change_and_garbage(api, sales):
    first, second, approved = sales
    assert api.post(f"/referrals/{approved}/status", {"status": "approved"}).status_code == 200
    before = snapshot()

    dry = upload(api, mixed_csv(first, second, approved)).json()

    rows = by_line(dry)
    assert [(line, rows[line]["outcome"], rows[line]["code"]) for line in sorted(rows)] == [
        (2, "will_change", None),
        (3, "error", "unknown_key"),
        (4, "error", "transition_not_allowed"),
        (5, "error", "malformed_row"),
        (6, "will_change", None),
    ]
    assert rows[4]["reason"] == "Approved is final: no change can be made to the status after that."
    assert snapshot() == before

    applied = upload(api, mixed_csv(first, second, approved), dry_run=False).json()

    assert applied["summary"] == {"rows": 5, "changed": 2, "unchanged": 0, "errors": 3}
    assert statuses(first, second, approved) == ["denied", "denied", "approved"]
    batch = applied["batch_id"]
    details = api.get(f"/referrals/imports/{batch}").json()
    assert (details["changes"], details["can_undo"], details["undo_refusals"]) == (2, True, [])

    undone = api.post(f"/referrals/imports/{batch}/undo")

    assert undone.status_code == 200, undone.content
    assert undone.json()["undone_at"] is not None
    assert statuses(first, second, approved) == ["pending", "pending", "approved"]
    last = StatusChange.objects.filter(referral_id=first).order_by("id").last()
    assert (last.actor, last.actor_label, last.from_status) == (
        "import",
        f"Undo of CSV import {batch}",
        "denied",
    )
    audit = AuditEntry.objects.get(action="referral.import_undo", object_id=batch)
    assert (audit.actor, audit.after) == ("api", {"changes": 2})
    again = api.post(f"/referrals/imports/{batch}/undo")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "import_undone")


def test_undo_is_refused_when_a_change_is_final_and_changes_nothing(api, referrals):  # noqa: F811
    first, second, blocked = referrals
    text = f"referralkey_ID,status\n{first},approved\n{blocked},approved\n{second},voided\n"
    batch = upload(api, text, dry_run=False).json()["batch_id"]
    assert by_line(upload(api, text).json())[3]["reason"] == BLOCKED_RULE
    before = snapshot()

    refused = api.post(f"/referrals/imports/{batch}/undo")

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "import_not_reversible"
    assert "2 of its changes cannot be reversed" in error["message"]
    assert error["details"] == [
        {
            "line": 2,
            "referral": first,
            "reason": "Approved is final: no change can be made to the status after that.",
        },
        {
            "line": 4,
            "referral": second,
            "reason": "Voided is final: no change can be made to the status after that.",
        },
    ]
    assert snapshot() == before
    assert api.get(f"/referrals/imports/{batch}").json()["can_undo"] is False


def test_undo_is_refused_when_a_referral_moved_since_and_then_nothing_is_undone(api, sales):
    first, second, _ = sales
    batch = upload(api, f"referralkey_ID,status\n{first},denied\n{second},denied\n", dry_run=False).json()[
        "batch_id"
    ]
    assert api.post(f"/referrals/{second}/status", {"status": "pending"}).status_code == 200
    assert api.post(f"/referrals/{second}/status", {"status": "denied"}).status_code == 200

    refused = api.post(f"/referrals/imports/{batch}/undo")

    assert refused.status_code == 409
    assert refused.json()["error"]["details"] == [
        {
            "line": 3,
            "referral": second,
            "reason": "The referral has changed since the import (it is now denied).",
        }
    ]
    assert statuses(first, second) == ["denied", "denied"]


def test_another_sites_batch_is_404_and_the_idempotency_key_replays_an_undo(api, other_api, sales):
    first, _, _ = sales
    batch = upload(api, f"referralkey_ID,status\n{first},denied\n", dry_run=False).json()["batch_id"]

    for path in (f"/referrals/imports/{batch}", "/referrals/imports/nope", "/referrals/imports/a%00b"):
        response = other_api.get(path)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "import_not_found")
    assert other_api.post(f"/referrals/imports/{batch}/undo").status_code == 404

    once = api.post(f"/referrals/imports/{batch}/undo", **{"Idempotency-Key": "undo-1"})
    again = api.post(f"/referrals/imports/{batch}/undo", **{"Idempotency-Key": "undo-1"})

    assert once.status_code == again.status_code == 200
    assert again.json() == once.json()
    assert statuses(first) == ["pending"]


def test_the_command_undoes_a_batch_and_explains_a_refusal(site, sales, tmp_path, capsys):
    first, _, _ = sales
    path = tmp_path / "referrals.csv"
    path.write_text(f"referralkey_ID,status\n{first},denied\n", encoding="utf-8")
    call_command("referrals_import", str(path), "--apply")
    batch = capsys.readouterr().out.split('"batch_id": "')[1][:12]

    call_command("referrals_import", "--undo", batch)

    assert '"undone": 1' in capsys.readouterr().out
    assert statuses(first) == ["pending"]
    with pytest.raises(CommandError, match="already been undone"):
        call_command("referrals_import", "--undo", batch)
    with pytest.raises(CommandError, match="either a FILE"):
        call_command("referrals_import")
