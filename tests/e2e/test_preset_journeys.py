"""The friend's journey in each preset, through the API and the share link's page:
share → GET /r/<code> → claim → conversion, and the statuses and timers of the seeds."""

from datetime import timedelta

import pytest
from django.test import Client

from conftest import CAMPAIGN, stock
from tests.e2e.test_purchase_walk import purchase
from vouch import clock
from vouch.referrals.models import Referral, StatusChange, TimedStep
from vouch.worker import WORK, claim, run_once

ADVOCATE, FRIEND = "stephanie@ganleywestside.com", "levi@yahoo.com"


def preset(api, site, pipeline: str, **settings) -> dict:
    response = api.post("/campaigns", {**CAMPAIGN, "pipeline": pipeline, **settings})
    assert response.status_code == 201, response.content
    stock(site, "friend-codes", [f"FRIEND{i:03}" for i in range(20)])
    stock(site, "advocate-codes", [f"ADV{i:03}" for i in range(20)])
    return response.json()


def share(api, channel="email", friend=FRIEND, **extra) -> str:
    body = {
        "campaign": "spring",
        "advocate": {"email": ADVOCATE, "first_name": "Stephanie"},
        "channel": channel,
    }
    if friend:
        body["friend_email"] = friend
    response = api.post("/shares", {**body, **extra})
    assert response.status_code == 201, response.content
    return response.json()["share"]["code"]


def referral_of(api, friend=FRIEND) -> dict:
    [found] = api.get("/referrals", friend_email=friend).json()["items"]
    return api.get(f"/referrals/{found['id']}").json()


def visit_and_claim(code: str, email=FRIEND, browser: Client | None = None):
    browser = browser or Client()
    page = browser.get(f"/r/{code}")
    assert page.status_code == 200
    assert b"Claim my offer" in page.content
    claimed = browser.post(f"/r/{code}", {"email": email})
    assert claimed.status_code == 200
    return page, claimed


def set_status(api, referral_id, status, reason=""):
    return api.post(f"/referrals/{referral_id}/status", {"status": status, "reason": reason})


def history(referral: dict) -> list[tuple]:
    return [(h["from"], h["to"]) for h in referral["history"]]


# First purchase discount


def test_first_purchase_discount_journey_from_email_share_to_approved(api, site):
    preset(api, site, "first_purchase_discount")
    code = share(api)
    unclaimed = referral_of(api)
    assert (unclaimed["status"], unclaimed["clicked"]) == ("offer_unclaimed", False)

    page, claimed = visit_and_claim(code)
    assert "vouch_visitor" in page.cookies
    assert referral_of(api)["clicked"] is True, "Offer unclaimed: clicked"
    assert b'id="coupon-code">FRIEND000' in claimed.content
    assert b"Use your code on your first order." in claimed.content
    required = referral_of(api)
    assert required["status"] == "purchase_required"
    assert required["rewards"] == [], "incentives wait for the purchase: unclaimed offers use no limit"

    response = purchase(api, coupon="FRIEND000")

    approved = response.json()["referral"]
    assert approved["status"] == "approved"
    assert approved["id"] == required["id"]
    assert approved["order_number"] == "ORDER-1"
    assert approved["rewards"][0]["status"] == "given"
    assert history(referral_of(api)) == [
        (None, "offer_unclaimed"),
        ("offer_unclaimed", "purchase_required"),
        ("purchase_required", "approved"),
    ]


def test_purchase_required_until_the_order_is_invoiced(api, site):
    preset(api, site, "first_purchase_discount")
    visit_and_claim(share(api))

    not_yet = purchase(api, coupon="FRIEND000", fields={"invoiced": False}).json()["referral"]
    assert not_yet["status"] == "purchase_required"

    invoiced = api.post(
        "/events", {"type": "custom", "id": "INV-1", "name": "invoiced", "order_id": "ORDER-1"}
    )
    assert invoiced.status_code == 201, invoiced.content
    assert invoiced.json()["referral"]["status"] == "approved"


def test_a_link_share_opens_the_referral_at_the_claim(api, site):
    preset(api, site, "first_purchase_discount")
    code = share(api, channel="link", friend=None)
    Client().get(f"/r/{code}")
    assert api.get("/referrals").json()["items"] == []

    claimed = api.post("/offers", {"share_code": code, "email": FRIEND})

    referral = claimed.json()["referral"]
    assert (referral["status"], referral["clicked"]) == ("purchase_required", True)
    assert claimed.json()["offer"]["coupon_code"] == "FRIEND000"


@pytest.mark.parametrize("channel", ["sms", "social"])
def test_every_channel_reaches_the_friend_through_the_share_link(api, site, channel):
    preset(api, site, "first_purchase_discount")
    visit_and_claim(share(api, channel=channel, friend=None))
    assert referral_of(api)["status"] == "purchase_required"


def test_a_claim_with_the_advocates_own_email_goes_pending_denial_with_evidence(api, site):
    preset(api, site, "first_purchase_discount")
    visit_and_claim(share(api, channel="link", friend=None), email=ADVOCATE.upper())

    [found] = api.get("/referrals", advocate_email=ADVOCATE).json()["items"]
    referral = api.get(f"/referrals/{found['id']}").json()
    assert referral["status"] == "pending_denial"
    [check] = [c for c in referral["fraud_checks"] if c["check"] == "self_referral_email"]
    assert check["outcome"] == "block" and check["evidence"]
    assert "Self-referral by email" in referral["history"][-1]["reason"]


def test_the_advocates_self_visit_is_not_a_click_and_its_claim_goes_pending_denial(api, site):
    preset(api, site, "first_purchase_discount")
    code = share(api, visitor_uuid="visitor-of-stephanie")
    browser = Client()
    browser.cookies["vouch_visitor"] = "visitor-of-stephanie"

    browser.get(f"/r/{code}")
    assert referral_of(api)["clicked"] is False

    browser.post(f"/r/{code}", {"email": FRIEND})
    referral = referral_of(api)
    assert referral["status"] == "pending_denial"
    [check] = [c for c in referral["fraud_checks"] if c["check"] == "self_referral_visitor_uuid"]
    assert check["outcome"] == "block"


def test_pending_denial_becomes_denied_after_x_days_and_not_before(api, site):
    preset(api, site, "first_purchase_discount", delays={"auto_approval_hours": 0, "pending_denial_days": 7})
    visit_and_claim(share(api))
    referral = referral_of(api)
    set_status(api, referral["id"], "pending_denial", "order data looks wrong")
    step = referral_of(api)["next_timed_step"]
    due = (clock.now() + timedelta(days=7)).date().isoformat()
    assert step["to"] == "denied"
    assert step["sentence"] == f"Will be denied on {due} unless someone changes it."

    clock.advance(timedelta(days=6, hours=23))
    run_once()
    assert referral_of(api)["status"] == "pending_denial"

    clock.advance(timedelta(hours=2))
    run_once()
    denied = referral_of(api)
    assert denied["status"] == "denied"
    assert denied["history"][-1]["actor"] == "engine"
    assert denied["history"][-1]["reason"] == "Nobody changed it while it was pending denial"
    assert denied["rewards"] == []
    assert denied["next_timed_step"] is None


def test_a_referral_staff_adjust_while_pending_denial_is_not_denied(api, site):
    preset(api, site, "first_purchase_discount")
    visit_and_claim(share(api))
    referral_id = referral_of(api)["id"]
    set_status(api, referral_id, "pending_denial")
    assert set_status(api, referral_id, "purchase_required", "order found").status_code == 200

    clock.advance(timedelta(days=8))
    run_once()

    assert referral_of(api)["status"] == "purchase_required"
    assert TimedStep.objects.get(to_status="denied").outcome.startswith("skipped")


def test_a_referral_back_in_pending_denial_waits_its_full_x_days_again(api, site):
    preset(api, site, "first_purchase_discount")
    visit_and_claim(share(api))
    referral_id = referral_of(api)["id"]
    set_status(api, referral_id, "pending_denial")
    clock.advance(timedelta(days=5))
    set_status(api, referral_id, "purchase_required")
    set_status(api, referral_id, "pending_denial")

    clock.advance(timedelta(days=3))
    run_once()
    assert referral_of(api)["status"] == "pending_denial"

    clock.advance(timedelta(days=5))
    run_once()
    assert referral_of(api)["status"] == "denied"


def test_staff_approve_a_referral_pending_denial(api, site):
    preset(api, site, "first_purchase_discount")
    visit_and_claim(share(api))
    referral_id = referral_of(api)["id"]
    set_status(api, referral_id, "pending_denial")

    body = set_status(api, referral_id, "approved", "purchase confirmed by phone").json()

    assert body["status"] == "approved"
    assert body["rewards"][0]["status"] == "given"


def test_an_unclaimed_offer_expires(api, site):
    preset(api, site, "first_purchase_discount")
    share(api)
    clock.advance(timedelta(days=31))
    run_once()
    expired = referral_of(api)
    assert expired["status"] == "expired"
    assert expired["rewards"] == []


def test_a_friend_who_claims_after_the_unclaimed_offer_expired_starts_a_new_referral(api, site):
    preset(api, site, "first_purchase_discount")
    code = share(api)
    clock.advance(timedelta(days=31))
    run_once()

    claimed = api.post("/offers", {"share_code": code, "email": FRIEND}).json()

    assert claimed["referral"]["status"] == "purchase_required"
    statuses = [r["status"] for r in api.get("/referrals", friend_email=FRIEND).json()["items"]]
    assert sorted(statuses) == ["expired", "purchase_required"]


def test_a_claimed_offer_expires_unused_when_its_code_expires(api, site):
    preset(api, site, "first_purchase_discount")
    visit_and_claim(share(api))
    assert referral_of(api)["next_timed_step"]["to"] == "expired"
    clock.advance(timedelta(days=29))
    run_once()
    assert referral_of(api)["status"] == "purchase_required"
    clock.advance(timedelta(days=2))
    run_once()
    assert referral_of(api)["status"] == "expired"


def test_staff_restoring_a_referral_after_its_offer_expired_keep_it_where_they_put_it(api, site):
    preset(api, site, "first_purchase_discount", delays={"auto_approval_hours": 0, "pending_denial_days": 60})
    visit_and_claim(share(api))
    referral_id = referral_of(api)["id"]
    set_status(api, referral_id, "pending_denial")
    clock.advance(timedelta(days=40))

    restored = set_status(api, referral_id, "purchase_required", "order found in the shop").json()

    assert restored["status"] == "purchase_required"
    assert restored["next_timed_step"] is None
    run_once()
    assert referral_of(api)["status"] == "purchase_required"


def test_a_refused_transition_answers_409_with_the_rule(api, site):
    preset(api, site, "first_purchase_discount")
    share(api)
    response = set_status(api, referral_of(api)["id"], "approved")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "transition_not_allowed"
    assert error["message"] == (
        "Only a referral whose purchase is required, or one pending denial, can be approved."
    )


# Account activation


def test_account_activation_journey(api, site):
    preset(api, site, "account_activation")
    _, claimed = visit_and_claim(share(api))
    assert b"Open your account with this email address" in claimed.content
    assert referral_of(api)["status"] == "account_identifier_required"

    signup = api.post("/events", {"type": "signup", "id": "ACCOUNT-1", "email": FRIEND})
    assert signup.status_code == 201, signup.content
    referral = referral_of(api)
    assert referral["status"] == "account_validation_required"
    assert referral["rewards"][0]["status"] == "pending"

    body = set_status(api, referral["id"], "approved", "account validated").json()
    assert body["status"] == "approved"
    assert body["rewards"][0]["status"] == "given"
    assert history(referral_of(api))[1:] == [
        ("offer_unclaimed", "account_identifier_required"),
        ("account_identifier_required", "account_validation_required"),
        ("account_validation_required", "approved"),
    ]


def test_an_account_is_validated_before_approval(api, site):
    preset(api, site, "account_activation")
    visit_and_claim(share(api))
    response = set_status(api, referral_of(api)["id"], "approved")
    assert response.status_code == 409
    assert "its account must be validated first" in response.json()["error"]["message"]


def test_an_invalid_account_goes_pending_denial_then_denied(api, site):
    preset(api, site, "account_activation", delays={"auto_approval_hours": 0, "pending_denial_days": 3})
    visit_and_claim(share(api))
    api.post("/events", {"type": "signup", "id": "ACCOUNT-1", "email": FRIEND})
    referral_id = referral_of(api)["id"]
    assert referral_of(api)["rewards"][0]["status"] == "pending"
    assert set_status(api, referral_id, "pending_denial", "invalid account number").status_code == 200

    clock.advance(timedelta(days=3, minutes=1))
    run_once()

    denied = referral_of(api)
    assert denied["status"] == "denied"
    [reward] = denied["rewards"]
    assert reward["status"] == "voided"
    assert reward["reason"] == "Referral was denied: Nobody changed it while it was pending denial"
    assert reward["reason_code"] == "referral_denied"


def test_a_self_referred_account_goes_pending_denial(api, site):
    preset(api, site, "account_activation")
    visit_and_claim(share(api, channel="link", friend=None), email=ADVOCATE)
    [found] = api.get("/referrals", advocate_email=ADVOCATE).json()["items"]
    assert found["status"] == "pending_denial"


def test_account_validation_waits_x_days_and_x_transactions(api, site):
    preset(api, site, "account_activation", activation={"wait_days": 14, "transactions": 2})
    visit_and_claim(share(api))
    api.post("/events", {"type": "signup", "id": "ACCOUNT-1", "email": FRIEND})
    waiting = referral_of(api)
    assert waiting["status"] == "account_identifier_required"
    due = (clock.now() + timedelta(days=14)).date().isoformat()
    assert waiting["next_timed_step"]["sentence"] == (
        f"Moves to account validation required on {due} unless someone changes it first."
    )
    purchase(api, order="T-1", coupon="FRIEND000")
    assert referral_of(api)["status"] == "account_identifier_required"

    clock.advance(timedelta(days=14, minutes=1))
    run_once()
    assert referral_of(api)["status"] == "account_identifier_required"
    assert TimedStep.objects.get(to_status="account_validation_required").outcome == (
        "waiting: The friend has made 1 of the 2 transactions required."
    )

    purchase(api, order="T-2", coupon="FRIEND000")
    assert referral_of(api)["status"] == "account_validation_required"


def test_account_validation_waits_x_days_and_not_one_less(api, site):
    preset(api, site, "account_activation", activation={"wait_days": 45, "transactions": 0})
    visit_and_claim(share(api))
    api.post("/events", {"type": "signup", "id": "ACCOUNT-1", "email": FRIEND})

    clock.advance(timedelta(days=44))
    run_once()
    assert referral_of(api)["status"] == "account_identifier_required", "the offer's expiry no longer applies"

    clock.advance(timedelta(days=1, minutes=1))
    run_once()
    assert referral_of(api)["status"] == "account_validation_required"


def test_an_account_never_opened_expires_with_the_offer(api, site):
    preset(api, site, "account_activation")
    visit_and_claim(share(api))
    clock.advance(timedelta(days=30, minutes=1))
    run_once()
    assert referral_of(api)["status"] == "expired"


# Basic


def test_basic_journey_verified_by_staff(api, site):
    preset(api, site, "basic")
    _, claimed = visit_and_claim(share(api))
    assert b"once someone has verified it" in claimed.content
    referral = referral_of(api)
    assert referral["status"] == "verification_required"
    assert referral["allowed_statuses"] == ["approved", "denied"]

    body = set_status(api, referral["id"], "approved", "action verified").json()

    assert body["status"] == "approved"
    assert body["rewards"][0]["status"] == "given"


def test_basic_denied_by_staff_gives_no_reward(api, site):
    preset(api, site, "basic")
    visit_and_claim(share(api))
    body = set_status(api, referral_of(api)["id"], "denied", "action not done").json()
    assert body["status"] == "denied"
    assert body["rewards"] == []
    assert body["history"][-1]["reason"] == "action not done"


def test_basic_self_referral_is_denied_with_evidence(api, site):
    preset(api, site, "basic")
    visit_and_claim(share(api, channel="link", friend=None), email=ADVOCATE)
    [found] = api.get("/referrals", advocate_email=ADVOCATE).json()["items"]
    referral = api.get(f"/referrals/{found['id']}").json()
    assert referral["status"] == "denied"
    assert any(
        c["check"] == "self_referral_email" and c["outcome"] == "block" for c in referral["fraud_checks"]
    )


def test_basic_unclaimed_offer_expires(api, site):
    preset(api, site, "basic")
    share(api)
    clock.advance(timedelta(days=30, minutes=1))
    run_once()
    assert referral_of(api)["status"] == "expired"


# Sales (Referral Rock)


def test_sales_journey_every_referral_enters_pending(api, site):
    preset(api, site, "sales")
    share(api)
    assert api.get("/referrals").json()["items"] == [], "a sales referral starts when the lead claims"
    _, claimed = visit_and_claim(share(api))
    assert b"we will be in touch" in claimed.content
    referral = referral_of(api)
    assert referral["status"] == "pending"
    assert referral["rewards"][0]["status"] == "pending"

    assert set_status(api, referral["id"], "qualified", "met sales").json()["status"] == "qualified"
    approved = set_status(api, referral["id"], "approved", "became a customer").json()
    assert approved["status"] == "approved"
    assert approved["rewards"][0]["status"] == "given"


@pytest.mark.parametrize("target", ["pending", "qualified", "denied"])
def test_after_a_referral_is_approved_no_changes_can_be_made_to_the_status(api, site, target):
    preset(api, site, "sales")
    visit_and_claim(share(api))
    referral_id = referral_of(api)["id"]
    set_status(api, referral_id, "approved")

    response = set_status(api, referral_id, target)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "transition_not_allowed"
    assert error["message"] == "Approved is final: no change can be made to the status after that."


def test_a_status_can_be_changed_back_and_forth_between_denied_and_pending(api, site):
    preset(api, site, "sales")
    visit_and_claim(share(api))
    referral_id = referral_of(api)["id"]
    for status in ("denied", "pending", "denied", "pending"):
        assert set_status(api, referral_id, status).json()["status"] == status


def test_qualified_from_denied_only_if_never_qualified_before(api, site):
    preset(api, site, "sales")
    visit_and_claim(share(api))
    visit_and_claim(share(api, friend="ana@example.com"), email="ana@example.com")
    never = referral_of(api, "ana@example.com")["id"]
    set_status(api, never, "denied")
    assert set_status(api, never, "qualified").json()["status"] == "qualified"

    once = referral_of(api)["id"]
    set_status(api, once, "qualified")
    set_status(api, once, "denied")
    response = set_status(api, once, "qualified")
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "A referral can only be changed to qualified from denied if it has never been qualified before; "
        "this one was."
    )


@pytest.mark.parametrize(("reward_status", "given_at"), [("pending", "pending"), ("qualified", "qualified")])
def test_rewards_trigger_on_the_status_the_campaign_chooses(api, site, reward_status, given_at):
    preset(api, site, "sales", sales={"reward_status": reward_status})
    visit_and_claim(share(api))
    referral = referral_of(api)
    if given_at == "qualified":
        assert referral["rewards"][0]["status"] == "pending"
        referral = set_status(api, referral["id"], "qualified").json()
    assert referral["rewards"][0]["status"] == "given"


def test_rewards_never_trigger_on_denied(api, site):
    response = api.post("/campaigns", {**CAMPAIGN, "pipeline": "sales", "sales": {"reward_status": "denied"}})
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert "rewards never trigger on denied" in detail["message"]


def test_a_denied_sales_referral_blocks_its_reward_until_it_is_approved(api, site):
    preset(api, site, "sales")
    visit_and_claim(share(api))
    referral_id = referral_of(api)["id"]
    denied = set_status(api, referral_id, "denied", "not a fit").json()
    assert denied["rewards"][0]["status"] == "blocked"
    assert denied["rewards"][0]["reason"] == "Referral was denied: not a fit"
    set_status(api, referral_id, "pending")
    assert set_status(api, referral_id, "approved").json()["rewards"][0]["status"] == "given"


def test_a_sales_self_referral_enters_pending_and_is_denied(api, site):
    preset(api, site, "sales")
    visit_and_claim(share(api, channel="link", friend=None), email=ADVOCATE)
    [found] = api.get("/referrals", advocate_email=ADVOCATE).json()["items"]
    referral = api.get(f"/referrals/{found['id']}").json()
    assert history(referral) == [(None, "pending"), ("pending", "denied")]


def test_sales_status_changes_by_external_id(api, site):
    preset(api, site, "sales")
    created = api.post(
        "/referrals",
        {
            "campaign": "spring",
            "advocate_email": ADVOCATE,
            "friend_email": FRIEND,
            "external_id": "CRM-9",
            "subtotal": "0.00",
        },
    )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "pending"
    assert set_status(api, "ext:CRM-9", "qualified", "demo booked").json()["status"] == "qualified"
    set_status(api, "ext:CRM-9", "denied")
    refused = set_status(api, "ext:CRM-9", "qualified")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "transition_not_allowed"


def test_another_sites_key_cannot_change_a_referral(api, other_api, site):
    preset(api, site, "sales")
    visit_and_claim(share(api))
    assert set_status(other_api, referral_of(api)["id"], "qualified").status_code == 404


# Timers and the worker


def test_a_worker_killed_mid_batch_denies_each_referral_once_after_its_lease(api, site):
    preset(api, site, "first_purchase_discount")
    friends = [f"friend{i}@example.com" for i in range(3)]
    for friend in friends:
        visit_and_claim(share(api, friend=friend), email=friend)
        set_status(api, referral_of(api, friend)["id"], "pending_denial")
    clock.advance(timedelta(days=8))
    timed = next(w for w in WORK if w.model is TimedStep)

    assert len(claim(timed, batch=2, lease=timedelta(seconds=60))) == 2  # the worker dies here
    run_once()
    assert Referral.objects.filter(status="denied").count() == 1, "only the unleased row was taken"

    clock.advance(timedelta(seconds=61))
    run_once()
    run_once()

    assert Referral.objects.filter(status="denied").count() == 3
    assert StatusChange.objects.filter(to_status="denied").count() == 3
    assert not TimedStep.objects.filter(to_status="denied", done_at__isnull=True).exists()
