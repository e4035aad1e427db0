"""Staff and API status changes through the API: approve, void, flag, unblock, refusals with the rule."""

from conftest import CAMPAIGN
from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch.audit.models import AuditEntry


def pending_referral(api, order="ORDER-1", friend="levi@yahoo.com"):
    _, coupon = share_and_claim(api, friend=friend)
    return purchase(api, order=order, email=friend, coupon=coupon).json()["referral"]


def delayed(api):
    response = api.put("/campaigns/spring", {**CAMPAIGN, "delays": {"auto_approval_hours": 72}})
    assert response.status_code == 200, response.content


def test_approving_a_pending_referral_gives_its_reward_and_is_audited(api, campaign):
    delayed(api)
    referral = pending_referral(api)

    response = api.post(
        f"/referrals/{referral['id']}/status", {"status": "approved", "reason": "customer called"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "approved"
    assert body["approved_at"] is not None
    assert body["rewards"][0]["status"] == "given"
    assert body["history"][-1] == {**body["history"][-1], "actor": "api", "reason": "customer called"}
    entry = AuditEntry.objects.get(action="referral.approve")
    assert entry.before == {"status": "pending"}


def test_voiding_a_pending_referral_voids_its_reward_with_the_reason(api, campaign):
    delayed(api)
    referral = pending_referral(api)

    body = api.post(
        f"/referrals/{referral['id']}/status", {"status": "voided", "reason": "test order"}
    ).json()

    assert body["status"] == "voided"
    [reward] = body["rewards"]
    assert reward["status"] == "voided"
    assert reward["reason"] == "Referral was voided: test order"
    assert reward["reason_code"] == "referral_voided"


def test_voiding_an_approved_referral_is_refused_with_the_rule(api, campaign):
    referral = pending_referral(api)
    assert referral["status"] == "approved"

    response = api.post(f"/referrals/{referral['id']}/status", {"status": "voided"})

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "transition_not_allowed"
    assert error["message"] == "Approved is final: no change can be made to the status after that."


def test_unblocking_a_blocked_referral_releases_the_reward(api, campaign):
    _, coupon = share_and_claim(api)
    referral = purchase(api, coupon=coupon, email="stephanie@ganleywestside.com").json()["referral"]
    assert referral["status"] == "blocked"

    refused = api.post(f"/referrals/{referral['id']}/status", {"status": "approved"})
    assert refused.status_code == 409
    assert "unblocked instead" in refused.json()["error"]["message"]

    body = api.post(
        f"/referrals/{referral['id']}/status", {"status": "unblocked", "reason": "same household"}
    ).json()
    assert body["status"] == "unblocked"
    [reward] = body["rewards"]
    assert reward["status"] == "given"
    assert reward["code"].startswith("ADV")


def test_flagging_then_approving_by_external_id(api, campaign, site):
    from vouch.referrals.models import Referral

    delayed(api)
    referral = pending_referral(api)
    Referral.objects.filter(pk=referral["id"]).update(external_id="CRM-42")

    flagged = api.post("/referrals/ext:CRM-42/status", {"status": "flagged", "reason": "looks odd"})
    assert flagged.json()["status"] == "flagged"
    assert flagged.json()["next_timed_step"] is None
    approved = api.post("/referrals/ext:CRM-42/status", {"status": "approved"})
    assert approved.json()["status"] == "approved"
    assert api.get("/referrals/ext:NOPE").status_code == 404


def test_an_unknown_status_answers_409_naming_the_statuses(api, campaign):
    referral = pending_referral(api)
    response = api.post(f"/referrals/{referral['id']}/status", {"status": "qualified"})
    assert response.status_code == 409
    assert "not a status of the purchase with fraud review pipeline" in response.json()["error"]["message"]


def test_search_by_the_four_criteria(api, campaign):
    referral = pending_referral(api, order="ORDER-77")
    for query in (
        {"advocate_email": "Stephanie@GanleyWestside.com"},
        {"friend_email": "levi@yahoo.com"},
        {"order_number": "ORDER-77"},
        {"coupon_code": referral["coupon_code"].lower()},
    ):
        body = api.get("/referrals", **query).json()
        assert [r["id"] for r in body["items"]] == [referral["id"]], query
        assert body["count"] == 1
    assert api.get("/referrals", friend_email="nobody@example.com").json()["count"] == 0


def test_manual_referral_runs_fraud_checks_and_gives_rewards(api, campaign):
    response = api.post(
        "/referrals",
        {
            "campaign": "spring",
            "advocate_email": "stephanie@ganleywestside.com",
            "friend_email": "levi@yahoo.com",
            "order_number": "PHONE-1",
            "subtotal": "120.00",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["attributed_by"] == "manual"
    assert body["status"] == "approved"
    assert body["rewards"][0]["status"] == "given"
    assert body["history"][0]["reason"].startswith("Created by hand by API key")
    assert len(body["fraud_checks"]) == 9


def test_manual_referral_for_an_unknown_campaign_is_404(api, campaign):
    response = api.post(
        "/referrals", {"campaign": "nope", "advocate_email": "a@example.com", "subtotal": "1"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "campaign_not_found"


def test_person_shows_referrals_rewards_emails_offers_and_shares(api, campaign):
    pending_referral(api)
    stephanie = api.get("/people/stephanie@ganleywestside.com").json()
    assert len(stephanie["referrals_as_advocate"]) == 1
    assert stephanie["rewards"][0]["status"] == "given"
    assert stephanie["emails"][0]["type"] == "advocate_reward_paid"
    assert stephanie["shares"][0]["channel"] == "email"
    levi = api.get("/people/levi@yahoo.com").json()
    assert levi["referrals_as_friend"][0]["advocate"]["email"] == "stephanie@ganleywestside.com"
    assert levi["offers"][0]["campaign"] == "spring"
    assert [e["type"] for e in levi["emails"]] == ["friend_share"]
    assert api.get("/people/unknown@example.com").status_code == 404


def test_changing_the_pipeline_of_a_campaign_with_referrals_is_refused(api, campaign):
    pending_referral(api)
    response = api.put("/campaigns/spring", {**CAMPAIGN, "pipeline": "basic"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "pipeline_fixed"
    assert error["message"] == (
        "The campaign has referrals, so its pipeline cannot change from purchase_with_fraud_review to basic."
    )
    assert api.get("/campaigns/spring").json()["pipeline"] == "purchase_with_fraud_review"


def test_the_pipeline_of_a_campaign_without_referrals_may_change(api, campaign):
    response = api.put("/campaigns/spring", {**CAMPAIGN, "pipeline": "basic"})
    assert response.status_code == 200, response.content
    assert response.json()["pipeline"] == "basic"


def test_a_second_manual_referral_with_the_same_external_id_is_a_conflict(api, campaign):
    body = {
        "campaign": "spring",
        "advocate_email": "a@example.com",
        "subtotal": "30.00",
        "external_id": "CRM-7",
    }
    assert api.post("/referrals", body).status_code == 201
    again = api.post("/referrals", {**body, "advocate_email": "b@example.com"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_external_id"
    assert api.get("/referrals/ext:CRM-7").json()["advocate"]["email"] == "a@example.com"


def test_a_paused_campaign_takes_no_new_shares(api, campaign):
    assert api.put("/campaigns/spring", {**CAMPAIGN, "status": "paused"}).status_code == 200
    response = api.post(
        "/shares", {"campaign": "spring", "advocate": {"email": "a@example.com"}, "channel": "sms"}
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "campaign_not_active",
        "message": "The campaign 'spring' is paused.",
        "details": [],
    }


def test_the_snapshot_counts_referrals_per_status_in_the_pipeline_s_words(api, campaign, other_api):
    from tests.e2e.test_purchase_walk import purchase, share_and_claim

    _, coupon = share_and_claim(api)
    purchase(api, coupon=coupon)

    snapshot = api.get("/snapshot").json()

    [spring] = snapshot["campaigns"]
    counts = {s["status"]: (s["label"], s["count"]) for s in spring["statuses"]}
    assert counts["approved"] == ("Approved", 1)
    assert counts["flagged"] == ("Flagged", 0)
    assert spring["total"] == 1
    assert {q["status"]: q["count"] for q in snapshot["queues"]} == {"flagged": 0, "pending_denial": 0}
    assert other_api.get("/snapshot").json()["campaigns"] == []
