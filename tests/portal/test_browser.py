"""The seeds' customer-service walks in a real browser (headless Debian Chromium), as an agent
does them: Talkable's use cases 1, 2, 3 and 6, the flagged queue, coupons, and the walls
between roles and sites."""

import re

import pytest
from playwright.sync_api import expect

from conftest import CAMPAIGN
from tests.e2e.test_purchase_walk import purchase, share_and_claim
from tests.portal.conftest import SCREENSHOTS, log_in
from vouch.referrals.models import Referral

pytestmark = pytest.mark.django_db(transaction=True)


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_agent_finds_stephanie_s_referral_to_levi_resends_her_reward_email_and_sees_why_a_reward_was_blocked(
    page, staff, api, levi_referral, flagged_referral
):
    _, coupon = share_and_claim(api, friend="sam@example.com")
    blocked = purchase(api, order="ORDER-SELF", email="stephanie@ganleywestside.com", coupon=coupon).json()
    assert blocked["referral"]["status"] == "blocked"

    log_in(page, "agent")
    expect(page.get_by_role("heading", name="Acme")).to_be_visible()
    expect(page.locator('[data-queue="flagged"]')).to_have_text("1")
    expect(page.locator("#snapshot-spring [data-status='approved']")).to_have_text("1")
    expect(page.locator("svg.chart")).to_be_visible()
    shot(page, "home")

    # Use case 1: person lookup, then the referral to Levi and its fraud filters.
    page.get_by_label(re.compile("Person lookup")).fill("stephanie@ganleywestside.com")
    page.keyboard.press("Enter")
    expect(page.locator("#person-email")).to_have_text("stephanie@ganleywestside.com")
    shot(page, "person")
    tabs = page.get_by_role("navigation", name="Person sections")
    expect(tabs.get_by_role("link", name="Referrals")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="Rewards")).to_have_count(0)
    tabs.get_by_role("link", name="Rewards").click()
    expect(page).to_have_url(re.compile(r"\?tab=rewards$"))
    expect(page.locator("#rewards")).to_contain_text("Given")
    expect(page.locator("#person-email")).to_have_text("stephanie@ganleywestside.com")
    tabs.get_by_role("link", name="Referrals").click()
    expect(page.get_by_role("heading", name="Referrals")).to_be_visible()
    levi_row = page.locator("#referrals tr", has_text="levi@yahoo.com")
    levi_row.get_by_role("link", name=re.compile("Details")).click()
    expect(page.locator("#referral-status")).to_have_text("Approved")
    expect(page.locator("#rewards")).to_contain_text("Given")
    expect(page.get_by_text("Self-referral by email", exact=True)).to_be_hidden()
    page.locator("#fraud-filters summary").first.click()
    row = page.locator("#fraud-filters tr", has_text="Self-referral by email")
    expect(row).to_be_visible()
    expect(row).to_contain_text("pass")
    expect(page.locator("#approved-at")).not_to_have_text("not approved")
    shot(page, "referral-details")

    # Use case 2: the Advocate Reward Paid Email, resent.
    page.get_by_role("link", name="stephanie@ganleywestside.com").first.click()
    # The tabs are links: the keyboard reaches one and Enter opens it.
    page.get_by_role("navigation", name="Person sections").get_by_role("link", name="Emails").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?tab=emails$"))
    page.get_by_role("link", name=re.compile("Details of Advocate reward paid email")).click()
    expect(page.get_by_role("heading", name=re.compile("Advocate reward paid email"))).to_be_visible()
    expect(page.locator("#delivery")).to_contain_text("Queued")
    page.get_by_role("button", name="Resend now").click()
    expect(page.get_by_role("status")).to_contain_text("queued to be sent again")
    expect(page.get_by_text(re.compile("Resent from"))).to_be_visible()

    # Use case 3: why was a reward not given?
    page.get_by_role("link", name="stephanie@ganleywestside.com").first.click()
    page.get_by_role("link", name="Why no reward?").click()
    why = page.locator("#why")
    expect(why).to_contain_text("Referral was blocked for Self-referral by email.")
    expect(why).to_contain_text("Given on")
    expect(why).to_contain_text("flagged")


def test_agent_creates_a_referral_by_hand_and_approves_a_flagged_one(
    page, staff, api, campaign, flagged_referral
):
    api.post("/campaigns", {**CAMPAIGN, "slug": "vip", "name": "VIP referral"})
    log_in(page, "agent")

    # Use case 6: create a referral, the campaign found by typing its name.
    page.get_by_role("link", name="Create referral").click()
    page.get_by_label("Advocate's email").fill("stephanie@ganleywestside.com")
    page.get_by_label("Friend's email (optional)").fill("ursula@example.com")
    page.get_by_label("Order number", exact=True).fill("PHONE-77")
    page.get_by_label("Order subtotal").fill("120.00")
    page.get_by_label("Find a campaign").fill("VIP ref")
    expect(page.locator("#campaign-found")).to_have_text("1 campaign found")
    expect(page.get_by_label("Campaign", exact=True)).to_have_value("vip")
    shot(page, "create-referral")
    page.get_by_role("button", name="Create referral").click()
    expect(page.locator("#referral-status")).to_have_text("Approved")
    expect(page.locator("#rewards tr[data-role='advocate']")).to_contain_text("Given")
    created = Referral.objects.get(order_number="PHONE-77")
    assert created.campaign.slug == "vip" and created.attributed_by == "manual"

    # The flagged queue: open the flagged referral and approve it with a reason.
    page.get_by_role("navigation", name="Portal").get_by_role("link", name="Referrals").click()
    page.get_by_role("link", name=f"#{flagged_referral['id']}").click()
    expect(page.locator("#referral-status")).to_have_text("Flagged")
    form = page.locator("#action-approved")
    form.get_by_label("Reason").fill("Same office network, customer confirmed by phone")
    form.get_by_role("button", name="Approve").click()
    expect(page.locator("#referral-status")).to_have_text("Flagged"), "the confirmation box is required"
    form.get_by_label(re.compile("confirm")).check()
    form.get_by_role("button", name="Approve").click()
    expect(page.locator("#referral-status")).to_have_text("Approved")
    expect(page.locator(".timeline")).to_contain_text("Same office network")
    expect(page.locator(".timeline")).to_contain_text("(agent)")


def test_agent_adds_coupons_and_a_waiting_reward_is_given(page, staff, api, campaign):
    api.post(
        "/campaigns",
        {
            **CAMPAIGN,
            "slug": "summer",
            "name": "Summer",
            "incentives": {"advocate": {"kind": "coupon", "coupon_list": "summer-adv", "value": "10.00"}},
        },
    )
    waiting = api.post(
        "/referrals",
        {"campaign": "summer", "advocate_email": "stephanie@ganleywestside.com", "subtotal": "80.00"},
    ).json()
    assert waiting["rewards"][0]["status"] == "waiting_for_coupon"

    log_in(page, "agent")
    page.get_by_role("link", name="Coupon lists").click()
    row = page.locator("#coupon-lists tr", has_text="summer-adv")
    expect(row).to_contain_text("Empty: rewards are waiting")
    row.get_by_role("link", name="summer-adv").click()
    expect(page.locator("#waiting")).to_have_text("1")
    page.get_by_label("Codes, one per line").fill("SUMMER-001\nX\nSUMMER-002\n")
    page.get_by_role("button", name="Add coupons").click()
    outcome = page.locator("#top-up-outcome")
    expect(outcome).to_contain_text("Added 2 codes")
    expect(outcome).to_contain_text("line 2")
    expect(outcome).to_contain_text("at least 3 characters")
    expect(page.locator("#rewards-given")).to_contain_text("1 waiting reward given")
    expect(page.locator("#remaining")).to_have_text("1")
    outcome.get_by_role("link", name=f"Referral #{waiting['id']}").click()
    expect(page.locator("#rewards tr[data-role='advocate']")).to_contain_text("SUMMER-001")


def test_a_viewer_sees_no_approve_button_and_the_server_refuses_the_post(page, staff, flagged_referral):
    log_in(page, "viewer")
    page.goto(f"/referrals/{flagged_referral['id']}/")
    expect(page.locator("#referral-status")).to_have_text("Flagged")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"/referrals/{flagged_referral['id']}/status/",
        form={"status": "approved", "confirm": "on", "reason": "viewer tries", "csrfmiddlewaretoken": token},
    )
    assert response.status == 403
    assert Referral.objects.get(pk=flagged_referral["id"]).status == "flagged"
    page.goto("/referrals/queue/")
    expect(page.get_by_role("button", name="Approve selected")).to_have_count(0)
    expect(page.locator("#queue")).to_contain_text("s***@ganleywestside.com")


def test_another_site_s_user_gets_404_and_logins_lock_after_five_failures(
    page, browser, live_server, staff, outsider, levi_referral
):
    log_in(page, "bob")
    expect(page.get_by_role("heading", name="Globex")).to_be_visible()
    response = page.goto(f"/referrals/{levi_referral['id']}/")
    assert response.status == 404

    # A fresh browser context, not cleared cookies: a request still in flight (the favicon)
    # could bring bob's session cookie back and the login page would redirect him home.
    stranger = browser.new_context(base_url=live_server.url)
    stranger.set_default_timeout(10_000)
    tab = stranger.new_page()
    for _ in range(5):
        log_in(tab, "agent", password="wrong password")
        expect(tab.get_by_role("alert")).to_contain_text("correct username and password")
    log_in(tab, "agent")
    expect(tab.get_by_role("alert")).to_contain_text("Too many failed logins")
    assert tab.url.endswith("/login/")
    stranger.close()
