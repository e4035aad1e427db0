"""Attribution in Talkable's order, and fraud checks with the campaign's settings."""

from datetime import timedelta

from django.test import Client

from conftest import CAMPAIGN
from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch import clock
from vouch.fraud.models import BlacklistEntry


def share(api, advocate="ann@example.com", **extra):
    body = {"campaign": "spring", "advocate": {"email": advocate}, "channel": "link", **extra}
    return api.post("/shares", body).json()["share"]["code"]


def visit(code, ip="203.0.113.7"):
    browser = Client(REMOTE_ADDR=ip)
    page = browser.get(f"/r/{code}")
    assert page.status_code == 200
    return browser, page.cookies["vouch_visitor"].value


def test_purchase_with_the_visitor_uuid_of_a_share_link_visit_is_attributed_by_visitor_uuid(api, campaign):
    _, visitor = visit(share(api))
    body = purchase(api, email="new@example.org", visitor_uuid=visitor).json()
    assert body["referral"]["attributed_by"] == "visitor_uuid"
    assert body["referral"]["clicked"] is True


def test_purchase_by_a_friend_who_claimed_is_attributed_by_email(api, campaign):
    share_and_claim(api, friend="levi@yahoo.com")
    body = purchase(api, email="LEVI@yahoo.com").json()
    assert body["referral"]["attributed_by"] == "email"


def test_purchase_from_the_same_ip_within_the_hour_is_attributed_by_ip(api, campaign):
    visit(share(api), ip="198.51.100.23")
    clock.advance(timedelta(minutes=50))
    assert (
        purchase(api, order="O1", email="x@example.org", ip="198.51.100.23").json()["referral"][
            "attributed_by"
        ]
        == "ip"
    )
    clock.advance(timedelta(minutes=20))
    assert purchase(api, order="O2", email="y@example.org", ip="198.51.100.23").json()["referral"] is None


def test_coupon_code_wins_over_the_other_paths(api, campaign):
    _, coupon = share_and_claim(api, advocate="first@example.com", friend="levi@yahoo.com")
    _, visitor = visit(share(api, advocate="second@example.com"))
    body = purchase(api, coupon=coupon.lower(), visitor_uuid=visitor).json()
    assert body["referral"]["attributed_by"] == "coupon_code"
    assert body["referral"]["advocate"]["email"] == "first@example.com"


def test_a_purchase_from_nobody_s_share_is_stored_without_a_referral(api, campaign):
    body = purchase(api, email="walk-in@example.org").json()
    assert body["referral"] is None
    assert body["event"]["id"] == "ORDER-1"


def test_share_link_page_shows_the_offer_and_a_claim_gives_the_code(api, campaign):
    code = share(api)
    browser, _ = visit(code)
    page = browser.get(f"/r/{code}")
    assert b"15% off" in page.content
    claimed = browser.post(f"/r/{code}", {"email": "friend@example.org"})
    assert b'id="coupon-code">FRIEND' in claimed.content
    assert browser.post(f"/r/{code}", {"email": "not an email"}).status_code == 200
    assert Client().get("/r/NOSUCHCODE").status_code == 404


def purchase_from_the_advocates_ip(api, ip="192.0.2.5"):
    _, coupon = share_and_claim(api)
    share(api, advocate="stephanie@ganleywestside.com", ip=ip)
    return purchase(api, coupon=coupon, ip=ip).json()["referral"]


def test_same_ip_as_the_advocate_flags_when_the_campaign_says_flag(api, campaign):
    referral = purchase_from_the_advocates_ip(api)
    assert referral["status"] == "flagged"
    assert referral["rewards"][0]["status"] == "pending"
    check = next(
        c
        for c in api.get(f"/referrals/{referral['id']}").json()["fraud_checks"]
        if c["check"] == "self_referral_ip"
    )
    assert check["outcome"] == "flag"
    assert check["evidence"] == {"shared": ["192.0.2.5"]}


def test_the_same_check_blocks_when_the_campaign_says_block(api, campaign):
    api.put("/campaigns/spring", {**CAMPAIGN, "fraud": {"checks": {"self_referral_ip": "block"}}})
    referral = purchase_from_the_advocates_ip(api)
    assert referral["status"] == "blocked"
    assert referral["rewards"][0]["reason"] == "Referral was blocked for Self-referral by IP address."


def test_a_blacklisted_friend_domain_blocks_the_referral(api, campaign, site):
    BlacklistEntry.objects.create(site=site, kind="domain", value="spam.test")
    _, coupon = share_and_claim(api, friend="bot@mail.spam.test")
    referral = purchase(api, coupon=coupon, email="bot@mail.spam.test").json()["referral"]
    assert referral["status"] == "blocked"
    assert api.get("/people/bot@mail.spam.test").json()["blacklisted"] is True


def test_cross_referral_is_blocked(api, campaign):
    _, coupon = share_and_claim(api, advocate="ann@example.com", friend="bob@example.com")
    assert (
        purchase(api, order="O1", email="bob@example.com", coupon=coupon).json()["referral"]["status"]
        == "approved"
    )
    _, coupon = share_and_claim(api, advocate="bob@example.com", friend="ann@example.com")
    referral = purchase(api, order="O2", email="ann@example.com", coupon=coupon).json()["referral"]
    assert referral["status"] == "blocked"
    assert "Cross-referral" in referral["rewards"][0]["reason"]
