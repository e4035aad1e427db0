"""Many status changes together (`referral_transitions`, the CSV import's chunk) write exactly
the rows the same changes write one by one; a chunk that cannot go together (a referral moved
under it) is redone row by row, each row with its own outcome."""

from datetime import UTC, datetime

import pytest
from django.db import transaction

from conftest import CAMPAIGN, stock
from tests.e2e.test_referrals_import import BLOCKED_RULE
from vouch import clock
from vouch.audit.models import AuditEntry
from vouch.audit.services import ActorRef
from vouch.campaigns.definition import CampaignDefinition
from vouch.campaigns.services import campaign_create
from vouch.emails.models import Email
from vouch.errors import VouchError
from vouch.referrals import imports
from vouch.referrals.imports import referrals_import
from vouch.referrals.models import ImportChange, Referral, StatusChange, TimedStep
from vouch.referrals.services import (
    StatusMove,
    referral_create_by_hand,
    referral_transition,
    referral_transitions,
)
from vouch.rewards.models import Reward
from vouch.rules.models import Decision
from vouch.webhooks.models import Delivery, WebhookEvent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
STAFF = ActorRef(kind="staff", label="test")
IMPORTER = ActorRef(kind="import", label="CSV import test")
STATUS_RULE = {
    "id": "thanks-on-approval",
    "trigger": {"type": "status", "status": "approved"},
    "condition": "counts.referrals_approved == 1",  # the advocate's first approved referral only
    "actions": [{"type": "reward", "target": "friend", "reward": {"kind": "credit", "value": "5.00"}}],
}


@pytest.fixture
def frozen(monkeypatch):
    """One instant for every row, so that due dates can be compared between runs."""
    monkeypatch.setattr(clock, "now", lambda: NOW)


def campaign(site, slug: str, **settings):
    definition = {**CAMPAIGN, "slug": slug, "delays": {"auto_approval_hours": 48}, **settings}
    return campaign_create(site=site, definition=CampaignDefinition.model_validate(definition), actor=STAFF)


def by_hand(campaign, n: int, *, friend: str | None = None, advocate: int | None = None) -> Referral:
    return referral_create_by_hand(
        campaign=campaign,
        advocate_email=f"advocate{n if advocate is None else advocate}@example.com",
        friend_email=friend or f"friend{n}@example.com",
        actor=STAFF,
        subtotal=50,
    )


@pytest.fixture
def mixed(site, api, frozen):
    """A site with a webhook endpoint and referrals of three campaigns: purchase with fraud
    review (pending ones with an advocate reward to give, a blocked one with its reward
    blocked), first purchase discount (timers of the old status to close and of the new one to
    start), and one whose approval runs a status rule reading the advocate's approved referrals
    (so each of its referrals is changed alone, in its place). The changes, in order; the third
    is refused."""
    stock(site, "advocate-codes", [f"ADV{i:03}" for i in range(20)])
    response = api.post(
        "/webhooks",
        {
            "url": "https://example.com/hook",
            "event_types": ["referral.status_changed", "reward.given", "reward.blocked"],
        },
    )
    assert response.status_code == 201, response.content
    spring = campaign(site, "spring")
    # Without incentives: first purchase discount gives them by a status rule (at approved).
    fpd = campaign(site, "fpd", pipeline="first_purchase_discount", incentives={})
    ruled = campaign(site, "ruled", rules=[STATUS_RULE])
    approve, void, flag = (by_hand(spring, n) for n in range(3))
    blocked = by_hand(spring, 3, friend="advocate3@example.com")
    refused = by_hand(spring, 4, friend="advocate4@example.com")
    unclaimed = by_hand(fpd, 5)
    required = referral_transition(referral=by_hand(fpd, 6), target="purchase_required", actor=STAFF)
    rule_fires, rule_holds_not = by_hand(ruled, 7), by_hand(ruled, 8, advocate=7)
    assert (approve.status, blocked.status, unclaimed.status, rule_fires.status) == (
        "pending",
        "blocked",
        "offer_unclaimed",
        "pending",
    )
    assert Reward.objects.filter(referral=approve, status="pending").exists()
    assert Reward.objects.filter(referral=blocked, status="blocked").exists()
    assert TimedStep.objects.filter(referral=unclaimed, done_at__isnull=True).exists()
    return [
        (approve.pk, "approved"),
        (unclaimed.pk, "purchase_required"),
        (refused.pk, "approved"),
        (void.pk, "voided"),
        (rule_fires.pk, "approved"),
        (rule_holds_not.pk, "approved"),
        (blocked.pk, "unblocked"),
        (required.pk, "pending_denial"),
        (flag.pk, "flagged"),
    ]


def locked(ids: list[int]) -> dict[int, Referral]:
    rows = Referral.objects.select_for_update().select_related("campaign", "site").filter(pk__in=ids)
    return {referral.pk: referral for referral in rows}


def written() -> dict:
    """Every row a status change writes, without ids of new rows (PostgreSQL does not roll its
    sequences back) and creation times."""
    return {
        "referrals": sorted(Referral.objects.values_list("pk", "status", "approved_at", "status_changed_at")),
        "history": sorted(
            StatusChange.objects.values_list("referral_id", "from_status", "to_status", "actor", "reason")
        ),
        "audit": sorted(
            (a.action, a.object_type, a.object_id, a.actor, a.actor_label, str(a.before), str(a.after))
            for a in AuditEntry.objects.all()
        ),
        "rewards": sorted(
            Reward.objects.values_list(
                "referral_id", "role", "kind", "status", "reason", "reason_code", "code", "given_at"
            )
        ),
        "timers": sorted(
            TimedStep.objects.values_list(
                "referral_id", "from_status", "to_status", "reason", "due_at", "done_at", "outcome"
            )
        ),
        "webhooks": sorted(
            (e.type, str({k: v for k, v in e.data.items() if k != "reward"}), e.deliveries.count())
            for e in WebhookEvent.objects.all()
        ),
        "deliveries": Delivery.objects.count(),
        "emails": sorted(Email.objects.values_list("type", "to", "status")),
        "decisions": sorted(
            Decision.objects.values_list("referral_id", "rule_id", "trigger", "condition_met")
        ),
    }


def run(changes: list[tuple[int, str]], *, together: bool) -> tuple[list, dict]:
    """The changes and the rows they wrote, then rolled back."""
    with transaction.atomic():
        referrals = locked([pk for pk, _ in changes])
        moves = [StatusMove(referrals[pk], target, reason=f"to {target}") for pk, target in changes]
        if together:
            outcomes = referral_transitions(changes=moves, actor=IMPORTER)
        else:
            outcomes = [_one(move) for move in moves]
        rows = written()
        transaction.set_rollback(True)
    return [o and (o.code, o.message) for o in outcomes], rows


def _one(move: StatusMove) -> VouchError | None:
    try:
        with transaction.atomic():
            referral_transition(
                referral=move.referral, target=move.target, actor=IMPORTER, reason=move.reason
            )
    except VouchError as error:
        return error
    return None


def test_changes_together_write_exactly_the_rows_of_the_same_changes_one_by_one(mixed):
    before = written()

    outcomes, together = run(mixed, together=True)
    one_outcomes, one_by_one = run(mixed, together=False)

    assert written() == before
    assert outcomes == one_outcomes
    assert [code for code, _ in filter(None, outcomes)] == ["transition_not_allowed"]
    assert outcomes[2] == ("transition_not_allowed", BLOCKED_RULE)
    for table, rows in together.items():
        assert rows == one_by_one[table], table
    # The rows are those of real work: rewards given and voided, timers closed and started,
    # webhook events with deliveries, the status rule's decision.
    changed = {pk: target for (pk, target), o in zip(mixed, outcomes, strict=True) if o is None}
    assert sorted(pk for pk, status, *_ in together["referrals"] if changed.get(pk) == status) == sorted(
        changed
    )
    statuses = {status for _, _, _, status, *_ in together["rewards"]}
    assert {"given", "voided"} <= statuses
    given = [r for r in together["rewards"] if r[3] == "given"]
    assert {role for _, role, *_ in given} == {"advocate", "friend"}
    assert any(outcome.startswith("skipped: the referral is") for *_, outcome in together["timers"])
    new_timers = [
        t for t in together["timers"] if t[5] is None and t[1] in ("purchase_required", "pending_denial")
    ]
    assert {t[1] for t in new_timers} == {"purchase_required", "pending_denial"}
    new_events = [e for e in together["webhooks"] if e not in before["webhooks"]]
    assert sum(1 for t, *_ in new_events if t == "referral.status_changed") == len(changed)
    assert {t for t, *_ in new_events} == {"referral.status_changed", "reward.given"}
    assert together["deliveries"] == len(together["webhooks"])
    rule = {(pk, met) for pk, rule, _, met in together["decisions"] if rule == "thanks-on-approval"}
    assert {met for _, met in rule} == {True, False}
    assert len(together["audit"]) - len(before["audit"]) >= len(changed)


def test_a_referral_moved_under_a_chunk_is_redone_row_by_row_and_reported(site, mixed, monkeypatch):
    (moved, _), (refused, _) = mixed[0], mixed[2]  # a pending referral to approve; a blocked one
    others = [pk for pk, _ in mixed if pk not in (moved, refused)]
    real_read = imports._lock_read
    calls = []

    def read_then_moved(*, site, referrals):
        """Reads the chunk's referrals, then someone voids one of them (the first time only)."""
        found = real_read(site=site, referrals=referrals)
        if not calls:
            Referral.objects.filter(pk=moved).update(status="voided")
        calls.append(sorted(found))
        return found

    monkeypatch.setattr(imports, "_lock_read", read_then_moved)
    one_by_one = []
    real_apply = imports._apply
    monkeypatch.setattr(imports, "_apply", lambda **kw: one_by_one.append(kw) or real_apply(**kw))
    text = "referralkey_ID,status\n" + "".join(f"{pk},{target}\n" for pk, target in mixed)

    report = referrals_import(site=site, lines=text.splitlines(keepends=True), actor=STAFF, apply=True)

    assert len(calls) == 2 and len(one_by_one) == len(mixed) - 1  # all but the row refused at once
    rows = {row.referral: row for row in report.rows}
    assert (rows[moved].outcome, rows[moved].code) == ("error", "transition_not_allowed")
    assert rows[moved].reason == "Voided is final: no change can be made to the status after that."
    assert [rows[pk].outcome for pk in others] == ["changed"] * len(others)
    targets = dict(mixed)
    assert all(Referral.objects.get(pk=pk).status == targets[pk] for pk in others)
    assert not StatusChange.objects.filter(referral_id=moved, actor="import").exists()
    changed = [row.referral for row in report.rows if row.outcome == "changed"]
    assert sorted(ImportChange.objects.values_list("referral_id", flat=True)) == sorted(changed)
    assert StatusChange.objects.filter(actor="import").count() == len(changed)


def test_a_chunk_goes_together_not_row_by_row(site, mixed, monkeypatch):
    one_by_one = []
    monkeypatch.setattr(imports, "_apply", lambda **kw: one_by_one.append(kw))
    text = "referralkey_ID,status\n" + "".join(f"{pk},{target}\n" for pk, target in mixed)

    report = referrals_import(site=site, lines=text.splitlines(keepends=True), actor=STAFF, apply=True)

    assert one_by_one == []
    assert report.summary == {"rows": len(mixed), "changed": len(mixed) - 1, "unchanged": 0, "errors": 1}
