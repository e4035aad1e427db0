"""The main walk through the integration API: share → claim → purchase → referral → reward."""

import pytest

from vouch.referrals.models import Referral


def share_and_claim(api, *, advocate="stephanie@ganleywestside.com", friend="levi@yahoo.com"):
    share = api.post(
        "/shares",
        {
            "campaign": "spring",
            "advocate": {"email": advocate, "first_name": "Stephanie"},
            "channel": "email",
            "friend_email": friend,
        },
    )
    assert share.status_code == 201, share.content
    code = share.json()["share"]["code"]
    claim = api.post("/offers", {"share_code": code, "email": friend})
    assert claim.status_code == 201, claim.content
    return code, claim.json()["offer"]["coupon_code"]


def purchase(api, *, order="ORDER-1", email="levi@yahoo.com", coupon=None, subtotal="49.90", **extra):
    body = {
        "type": "purchase",
        "id": order,
        "email": email,
        "subtotal": subtotal,
        "currency": "USD",
        "coupon_codes": [coupon] if coupon else [],
        **extra,
    }
    return api.post("/events", body)


def test_purchase_with_friends_coupon_gives_advocate_reward_at_once(api, campaign):
    _, coupon = share_and_claim(api)
    assert coupon.startswith("FRIEND")

    response = purchase(api, coupon=coupon)

    assert response.status_code == 201, response.content
    referral = response.json()["referral"]
    assert referral["status"] == "approved"
    assert referral["attributed_by"] == "coupon_code"
    assert referral["advocate"]["email"] == "stephanie@ganleywestside.com"
    assert referral["friend"]["email"] == "levi@yahoo.com"
    [reward] = referral["rewards"]
    assert reward["role"] == "advocate"
    assert reward["status"] == "given"
    assert reward["code"].startswith("ADV")
    details = api.get(f"/referrals/{referral['id']}").json()
    assert [(h["from"], h["to"]) for h in details["history"]] == [
        (None, "in_progress"),
        ("in_progress", "pending"),
        ("pending", "approved"),
    ]
    assert {c["check"] for c in details["fraud_checks"]} >= {"self_referral_email", "cross_referral"}
    assert all(c["outcome"] == "pass" for c in details["fraud_checks"])
    assert [e["type"] for e in details["emails"]] == ["advocate_reward_paid"]


def test_advocate_buying_with_own_email_is_blocked_with_evidence(api, campaign):
    _, coupon = share_and_claim(api, friend="levi@yahoo.com")

    response = purchase(api, coupon=coupon, email="Stephanie@GanleyWestside.com")

    referral = response.json()["referral"]
    assert referral["status"] == "blocked"
    [reward] = referral["rewards"]
    assert reward["status"] == "blocked"
    assert reward["reason_code"] == "referral_blocked"
    assert "Self-referral by email" in reward["reason"]
    assert reward["code"] is None
    details = api.get(f"/referrals/{referral['id']}").json()
    [check] = [c for c in details["fraud_checks"] if c["check"] == "self_referral_email"]
    assert check["outcome"] == "block"
    assert check["evidence"]
    [cross] = [c for c in details["fraud_checks"] if c["check"] == "cross_referral"]
    assert cross["outcome"] == "pass", "a self-referral is not also a cross-referral with itself"


def test_pending_referral_waits_for_its_auto_approval_delay(api, campaign, site):
    from datetime import timedelta

    from vouch import clock
    from vouch.worker import run_once

    api.put("/campaigns/spring", {**_campaign_body(), "delays": {"auto_approval_hours": 48}})
    _, coupon = share_and_claim(api)
    referral = purchase(api, coupon=coupon).json()["referral"]
    assert referral["status"] == "pending"
    assert referral["rewards"][0]["status"] == "pending"
    details = api.get(f"/referrals/{referral['id']}").json()
    assert details["next_timed_step"]["to"] == "approved"

    run_once()
    assert Referral.objects.get(pk=referral["id"]).status == "pending"

    clock.advance(timedelta(hours=48, seconds=1))
    run_once()
    details = api.get(f"/referrals/{referral['id']}").json()
    assert details["status"] == "approved"
    assert details["rewards"][0]["status"] == "given"
    assert details["history"][-1]["actor"] == "engine"
    assert details["next_timed_step"] is None


def _campaign_body():
    from conftest import CAMPAIGN

    return dict(CAMPAIGN)


def test_same_purchase_twice_is_one_referral_and_a_changed_body_is_a_conflict(api, campaign):
    _, coupon = share_and_claim(api)
    first = purchase(api, coupon=coupon)
    again = purchase(api, coupon=coupon)
    changed = purchase(api, coupon=coupon, subtotal="10.00")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["referral"]["id"] == first.json()["referral"]["id"]
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "event_conflict"
    assert Referral.objects.count() == 1


def test_a_key_of_another_site_gets_404_for_the_referral(api, other_api, campaign):
    _, coupon = share_and_claim(api)
    referral_id = purchase(api, coupon=coupon).json()["referral"]["id"]

    for response in (
        other_api.get(f"/referrals/{referral_id}"),
        other_api.post(f"/referrals/{referral_id}/status", {"status": "voided"}),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "referral_not_found"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"type": "purchase", "id": "X1", "email": "a@b.co", "subtotal": "abc"}, "subtotal"),
        ({"type": "sale", "id": "X1"}, "type"),
        ({"type": "purchase", "email": "a@b.co"}, "id"),
        ({"type": "purchase", "id": "X1", "email": "not-an-email"}, "email"),
        ({"type": "purchase", "id": "X1", "email": "a@b.co", "subtotal": "-1"}, "subtotal"),
    ],
)
def test_malformed_event_is_422_with_the_field(api, campaign, body, field):
    response = api.post("/events", body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in [d["field"] for d in error["details"]]


def test_unparseable_json_is_422_not_500(api):
    response = api.client.post(
        "/api/v1/events", data="{not json", content_type="application/json", headers=api.headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "malformed_body"


def test_missing_or_wrong_key_is_401(api, db):
    from django.test import Client

    assert Client().get("/api/v1/referrals").status_code == 401
    wrong = Client().get("/api/v1/referrals", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"


def test_nul_characters_are_dropped_before_they_reach_the_database(api, campaign):
    assert api.get("/campaigns", q="sp\x00ring").status_code == 200
    assert api.get("/people/levi\x00@yahoo.com").status_code == 404
    assert api.get("/referrals/ext:\x00").status_code == 404
    response = purchase(api, order="ORDER\x00-9", email="levi@yahoo.com", shipping_address="1 Main\x00 St")
    assert response.status_code == 201
    assert response.json()["event"]["id"] == "ORDER-9"
