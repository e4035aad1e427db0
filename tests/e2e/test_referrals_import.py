"""Bulk status update from a CSV: the dry run lists every row's outcome and changes nothing;
applying changes only the valid rows, each through the one status-change service."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from conftest import CAMPAIGN
from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch.audit.models import AuditEntry
from vouch.audit.services import ActorRef
from vouch.pipelines import Decision
from vouch.referrals import imports
from vouch.referrals.imports import referrals_import
from vouch.referrals.models import Referral, StatusChange

BLOCKED_RULE = "Only pending and flagged referrals can be approved; a blocked referral is unblocked instead."


def upload(api, text: str | bytes, *, dry_run: bool | None = None, **headers):
    query = "" if dry_run is None else f"?dry_run={str(dry_run).lower()}"
    content = text.encode() if isinstance(text, str) else text
    return api.client.post(
        f"/api/v1/referrals/import{query}",
        data={"file": SimpleUploadedFile("referrals.csv", content, content_type="text/csv")},
        headers={**api.headers, **headers},
    )


@pytest.fixture
def pending_campaign(api, campaign):
    response = api.put("/campaigns/spring", {**CAMPAIGN, "delays": {"auto_approval_hours": 48}})
    assert response.status_code == 200, response.content
    return response.json()


def referral(api, *, advocate: str, friend: str, order: str, buyer: str | None = None) -> dict:
    _, coupon = share_and_claim(api, advocate=advocate, friend=friend)
    response = purchase(api, order=order, email=buyer or friend, coupon=coupon)
    assert response.status_code == 201, response.content
    return response.json()["referral"]


@pytest.fixture
def referrals(api, pending_campaign):
    """Two pending referrals and one the fraud checks blocked (the advocate bought with their own email)."""
    first = referral(api, advocate="stephanie@ganleywestside.com", friend="levi@yahoo.com", order="O-1")
    second = referral(api, advocate="maria@example.com", friend="ann@example.com", order="O-2")
    blocked = referral(
        api, advocate="tom@example.com", friend="joe@example.com", order="O-3", buyer="tom@example.com"
    )
    assert (first["status"], second["status"], blocked["status"]) == ("pending", "pending", "blocked")
    return first["id"], second["id"], blocked["id"]


def mixed_csv(first: int, second: int, blocked: int) -> str:
    return (
        "referralkey_ID,status,note\n"
        f"{first},Approved,Called the customer\n"
        "999999,approved,\n"
        f"{blocked},approved,\n"
        "this is, not, a, row\n"
        f"{second},voided,\n"
    )


def snapshot() -> tuple:
    return (
        sorted(Referral.objects.values_list("pk", "status")),
        StatusChange.objects.count(),
        AuditEntry.objects.count(),
    )


def by_line(report: dict) -> dict[int, dict]:
    return {row["line"]: row for row in report["rows"]}


def test_dry_run_lists_each_row_with_line_and_reason_and_changes_nothing(api, referrals):
    first, second, blocked = referrals
    before = snapshot()

    response = upload(api, mixed_csv(first, second, blocked))

    assert response.status_code == 200, response.content
    report = response.json()
    assert report["dry_run"] is True
    assert report["summary"] == {"rows": 5, "will_change": 2, "unchanged": 0, "errors": 3}
    rows = by_line(report)
    assert rows[2] == {
        "line": 2,
        "key": str(first),
        "status": "approved",
        "outcome": "will_change",
        "referral": first,
        "from": "pending",
        "code": None,
        "reason": None,
    }
    assert (rows[3]["outcome"], rows[3]["code"]) == ("error", "unknown_key")
    assert "999999" in rows[3]["reason"]
    assert (rows[4]["code"], rows[4]["reason"], rows[4]["from"]) == (
        "transition_not_allowed",
        BLOCKED_RULE,
        "blocked",
    )
    assert rows[5]["code"] == "malformed_row"
    assert "4 columns" in rows[5]["reason"]
    assert (rows[6]["outcome"], rows[6]["status"]) == ("will_change", "voided")
    assert snapshot() == before


def test_apply_changes_only_the_good_rows_each_with_history_and_audit(api, referrals):
    first, second, blocked = referrals

    response = upload(api, mixed_csv(first, second, blocked), dry_run=False)

    assert response.status_code == 200, response.content
    report = response.json()
    assert report["dry_run"] is False
    assert report["summary"] == {"rows": 5, "changed": 2, "unchanged": 0, "errors": 3}
    assert [r["line"] for r in report["rows"] if r["outcome"] == "changed"] == [2, 6]
    assert by_line(report)[4]["reason"] == BLOCKED_RULE
    statuses = dict(Referral.objects.values_list("pk", "status"))
    assert (statuses[first], statuses[second], statuses[blocked]) == ("approved", "voided", "blocked")
    label = f"CSV import {report['batch_id']}"
    for pk, reason in ((first, "Called the customer"), (second, "Bulk CSV import")):
        last = StatusChange.objects.filter(referral_id=pk).order_by("id").last()
        assert (last.actor, last.actor_label, last.reason) == ("import", label, reason)
    audited = AuditEntry.objects.filter(actor="import", actor_label=label)
    assert sorted(audited.values_list("object_id", flat=True)) == sorted([str(first), str(second)])
    batch = AuditEntry.objects.get(action="referral.import", object_id=report["batch_id"])
    assert batch.actor == "api"
    assert batch.after["summary"]["changed"] == 2
    details = api.get(f"/referrals/{first}").json()
    assert details["history"][-1]["actor"] == "import"
    assert details["rewards"][0]["status"] == "given"
    voided = api.get(f"/referrals/{second}").json()["rewards"]
    assert voided and {r["status"] for r in voided} == {"voided"}


def test_a_wrong_header_is_422_naming_the_missing_column(api, referrals):
    for text, words in (
        ("referralkey_ID,note\n1,hello\n", "status"),
        ("id,status\n1,approved\n", "referralkey_ID"),
        ("referralkey_ID,referralkey_email,status\n", "more than one key column"),
        ("", "empty"),
    ):
        response = upload(api, text)
        assert response.status_code == 422, response.content
        error = response.json()["error"]
        assert error["code"] == "invalid_csv"
        assert words in error["message"]


def test_a_file_that_is_not_utf8_is_422_and_changes_nothing(api, referrals):
    first, _, _ = referrals
    before = snapshot()

    text = f"referralkey_ID,status,note\n{first},approved,ok\n999,approved,Fran\xe7ois\n".encode("latin-1")
    response = upload(api, text, dry_run=False)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_csv"
    assert snapshot() == before


def test_the_key_of_another_sites_referral_is_unknown(api, other_api, referrals):
    first, _, _ = referrals

    response = upload(other_api, f"referralkey_ID,status\n{first},approved\n", dry_run=False)

    assert response.status_code == 200
    [row] = response.json()["rows"]
    assert (row["code"], row["referral"]) == ("unknown_key", None)
    assert Referral.objects.get(pk=first).status == "pending"


def test_friend_email_and_external_id_keys(api, referrals):
    first, second, _ = referrals
    manual = api.post(
        "/referrals",
        {
            "campaign": "spring",
            "advocate_email": "zoe@example.com",
            "friend_email": "levi@yahoo.com",
            "subtotal": "10.00",
            "external_id": "CRM-7",
        },
    )
    assert manual.status_code == 201, manual.content
    by_email = upload(
        api,
        "ReferralKey_Email,Status\nANN@example.com,Voided\nlevi@yahoo.com,voided\nnobody@example.com,voided\n",
    ).json()
    rows = by_line(by_email)
    assert (rows[2]["outcome"], rows[2]["referral"]) == ("will_change", second)
    assert rows[3]["code"] == "ambiguous_email"
    assert str(first) in rows[3]["reason"] and "referralkey_ID" in rows[3]["reason"]
    assert rows[4]["code"] == "unknown_key"

    by_external_id = upload(api, "referralkey_externalid,status\nCRM-7,voided\n", dry_run=False).json()
    [row] = by_external_id["rows"]
    assert (row["outcome"], row["referral"]) == ("changed", manual.json()["id"])


def test_duplicate_keys_unknown_status_and_unchanged_rows(api, referrals):
    first, second, _ = referrals

    report = upload(
        api,
        f"referralkey_ID,status,amount\n{first},approved,49.90\n{second},Pending,\n{first},voided,\n"
        f"{second},Paid,\n{first},approved,lots\n",
        dry_run=False,
    ).json()

    rows = by_line(report)
    assert rows[2]["outcome"] == "changed"
    assert (rows[3]["outcome"], rows[3]["reason"]) == ("unchanged", "The referral is already pending.")
    assert (rows[4]["code"], rows[4]["reason"]) == ("duplicate_key", "Line 2 already updates this referral.")
    assert rows[5]["code"] == "unknown_status"
    assert rows[6]["code"] == "malformed_row"
    assert report["summary"] == {"rows": 5, "changed": 1, "unchanged": 1, "errors": 3}
    assert Referral.objects.get(pk=first).status == "approved"


def test_the_same_idempotency_key_replays_the_import(api, referrals):
    first, _, _ = referrals
    text = f"referralkey_ID,status\n{first},approved\n"

    once = upload(api, text, dry_run=False, **{"Idempotency-Key": "import-1"})
    again = upload(api, text, dry_run=False, **{"Idempotency-Key": "import-1"})
    other = upload(api, text + "2,voided\n", dry_run=False, **{"Idempotency-Key": "import-1"})

    assert once.status_code == again.status_code == 200, once.content
    assert again.json() == once.json()
    assert once.json()["summary"]["changed"] == 1
    assert StatusChange.objects.filter(referral_id=first, actor="import").count() == 1
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_a_row_refused_at_apply_time_is_reported_not_forced(site, referrals, monkeypatch):
    _, _, blocked = referrals
    monkeypatch.setattr(imports, "decide", lambda *a, **k: Decision(True, "allowed by a stale check"))

    report = referrals_import(
        site=site,
        lines=f"referralkey_ID,status\n{blocked},approved\n".splitlines(keepends=True),
        actor=ActorRef(kind="staff", label="test"),
        apply=True,
    )

    [row] = report.rows
    assert (row.outcome, row.code, row.reason) == ("error", "transition_not_allowed", BLOCKED_RULE)
    assert Referral.objects.get(pk=blocked).status == "blocked"


def test_the_command_prints_errors_and_the_summary(referrals, tmp_path, capsys, site):
    first, _, blocked = referrals
    path = tmp_path / "referrals.csv"
    path.write_text(f"referralkey_ID,status\n{first},approved\n{blocked},approved\n", encoding="utf-8")

    call_command("referrals_import", str(path), "--apply")

    out = capsys.readouterr().out
    assert f"line 3: {BLOCKED_RULE} (transition_not_allowed)" in out
    assert '"changed": 1' in out
    assert Referral.objects.get(pk=first).status == "approved"


def test_an_unreadable_upload_is_422_in_the_error_envelope(api, db):
    response = api.client.post(
        "/api/v1/referrals/import", data=b"junk", content_type="multipart/form-data", headers=api.headers
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "malformed_body"


def test_the_command_reports_progress_every_ten_thousand_rows(site, tmp_path, capsys):
    path = tmp_path / "big.csv"
    path.write_text("referralkey_ID,status\n" + "".join(f"{i},approved\n" for i in range(1, 10_002)))

    call_command("referrals_import", str(path))

    captured = capsys.readouterr()
    assert "10,000 of 10,001 rows read" in captured.err and "rows/s" in captured.err
    assert '"dry_run": true, "rows": 10001, "will_change": 0, "unchanged": 0, "errors": 10001' in captured.out


def test_keys_that_cannot_be_ids_are_unknown_not_errors_of_the_server(site, db):
    report = referrals_import(
        site=site,
        lines=["referralkey_ID,status\n", "²,approved\n", "٣,approved\n", f"{'9' * 30},approved\n"],
        actor=ActorRef(kind="staff", label="test"),
        apply=False,
    )

    assert [(row.line, row.code) for row in report.rows] == [
        (2, "unknown_key"),
        (3, "unknown_key"),
        (4, "unknown_key"),
    ]
