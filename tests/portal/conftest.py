"""Fixtures for the portal's tests: staff of every role on the site `acme`, a member of
another site, referrals made through the real API, and one headless Chromium per session."""

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from tests.e2e.test_attribution_and_fraud import share
from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch.sites.models import Membership
from vouch.sites.services import site_create

PASSWORD = "correct-horse-battery"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Logins are many in these tests; a cheap hasher keeps them fast (not a production setting)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, site, role: str):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    if site is not None:
        Membership.objects.create(site=site, user=user, role=role)
    return user


@pytest.fixture
def staff(site):
    """{"admin": user, "agent": user, "viewer": user}, each a member of `acme`."""
    return {role: make_user(role, site, role) for role in ("admin", "agent", "viewer")}


@pytest.fixture
def other_site(db):
    return site_create(slug="globex", name="Globex")


@pytest.fixture
def outsider(other_site):
    """An agent of another site."""
    return make_user("bob", other_site, "agent")


@pytest.fixture
def as_role(client, staff):
    def login(role: str):
        client.force_login(staff[role])
        return client

    return login


@pytest.fixture
def levi_referral(api, campaign):
    """Stephanie refers Levi, who buys with his coupon: approved, the advocate reward given."""
    _, coupon = share_and_claim(api)
    response = purchase(api, coupon=coupon)
    assert response.status_code == 201, response.content
    return response.json()["referral"]


def make_flagged(api, *, friend: str, order: str, ip: str = "192.0.2.5") -> dict:
    """A friend who buys from the advocate's IP address: flagged for review, the default for
    that check (tests/e2e/test_attribution_and_fraud.py)."""
    _, coupon = share_and_claim(api, friend=friend)
    share(api, advocate="stephanie@ganleywestside.com", ip=ip)
    referral = purchase(api, order=order, email=friend, coupon=coupon, ip=ip).json()["referral"]
    assert referral["status"] == "flagged", referral
    return referral


@pytest.fixture
def flagged_referral(api, campaign):
    return make_flagged(api, friend="nora@example.com", order="ORDER-F1")


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session. Playwright's sync API runs an event
    loop in this thread, so Django's async-safety check is lifted while the browser is up."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `apt-get install -y chromium` (make test does).")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield chromium
    chromium.close()
    playwright.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
