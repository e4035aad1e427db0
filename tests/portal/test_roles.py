"""Roles are enforced on the server for every POST (and every page), a site's staff never reach
another site's objects, and logins lock after repeated failures. Django's test client: no browser."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse

from tests.portal.conftest import PASSWORD
from vouch import clock
from vouch.audit.models import AuditEntry
from vouch.emails.models import Email
from vouch.people.models import Person
from vouch.portal import urls as portal_urls
from vouch.portal.models import ImportUpload
from vouch.referrals.models import Referral
from vouch.sites.models import Membership

# Every view that changes something, and the least role that may POST to it.
POSTS = {
    "referral-status": "agent",
    "email-resend": "agent",
    "referral-create": "agent",
    "queue": "agent",
    "coupon-list": "agent",
    "imports": "admin",
    "import-apply": "admin",
    "import-undo": "agent",
    "campaign-settings": "admin",
    "campaign-json": "admin",
    "staff": "admin",
    "staff-role": "admin",
    "staff-remove": "admin",
    "site-switch": "viewer",
}
READ_ONLY = {
    "home",
    "search",
    "person",
    "person-why",
    "referral",
    "email",
    "campaigns",
    "campaign",
    "campaign-picker",
    "coupon-lists",
    "import",
}
LOWER = {"viewer": [], "agent": ["viewer"], "admin": ["viewer", "agent"]}


@pytest.fixture
def world(site, staff, levi_referral, flagged_referral):
    email = Email.objects.filter(site=site).first()
    upload = ImportUpload.objects.create(
        site=site,
        content=f"referralkey_ID,status\n{flagged_referral['id']},approved\n",
        created_at=clock.now(),
    )
    membership = Membership.objects.get(site=site, user=staff["agent"])
    return {
        "referral-status": {"referral_id": flagged_referral["id"]},
        "email-resend": {"email_id": email.pk},
        "coupon-list": {"slug": "advocate-codes"},
        "import-apply": {"upload_id": upload.pk},
        "import-undo": {"upload_id": upload.pk},
        "campaign-settings": {"slug": "spring"},
        "campaign-json": {"slug": "spring"},
        "staff-role": {"membership_id": membership.pk},
        "staff-remove": {"membership_id": membership.pk},
        "referral": {"referral_id": levi_referral["id"]},
        "email": {"email_id": email.pk},
        "person": {"person_id": Person.objects.get(email="levi@yahoo.com").pk},
        "person-why": {"person_id": Person.objects.get(email="levi@yahoo.com").pk},
        "campaign": {"slug": "spring"},
        "import": {"upload_id": upload.pk},
    }


FORMS = {
    "referral-status": {"status": "approved", "confirm": "on", "reason": "looks fine"},
    "referral-create": {"advocate_email": "a@example.com", "subtotal": "50", "campaign": "spring"},
    "queue": {"referral": ["1"], "status": "approved"},
    "coupon-list": {"codes": "NEWCODE1"},
    "campaign-json": {"definition": "{}"},
    "staff": {"username": "viewer", "role": "admin"},
    "staff-role": {"role": "admin"},
    "staff-remove": {"confirm": "yes"},
    "import-apply": {"confirm": "on"},
    "import-undo": {"confirm": "on"},
}


def test_every_portal_view_is_behind_the_role_check_and_every_post_view_is_listed_here():
    names = set()
    for pattern in portal_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name in ("login", "logout"):
            continue
        names.add(pattern.name)
        assert hasattr(pattern.callback, "required_role"), f"{pattern.name} has no role check"
        post_role = POSTS.get(pattern.name)
        if post_role is not None:
            assert pattern.callback.required_post_role == post_role, pattern.name
    assert names == set(POSTS) | READ_ONLY


def test_a_post_below_the_view_s_role_is_refused_with_403_and_changes_nothing(client, staff, world):
    audit_before = AuditEntry.objects.count()
    statuses = dict(Referral.objects.values_list("pk", "status"))
    for name, needed in POSTS.items():
        url = reverse(f"portal:{name}", kwargs=world.get(name, {}))
        for role in LOWER[needed]:
            client.force_login(staff[role])
            response = client.post(url, FORMS.get(name, {}))
            assert response.status_code == 403, (name, role, response.status_code)
    assert AuditEntry.objects.count() == audit_before
    assert dict(Referral.objects.values_list("pk", "status")) == statuses
    assert Membership.objects.get(user=staff["agent"]).role == "agent"
    assert not ImportUpload.objects.filter(applied_at__isnull=False).exists()


def test_a_post_without_a_login_goes_to_the_login_page(client, world):
    for name in POSTS:
        response = client.post(reverse(f"portal:{name}", kwargs=world.get(name, {})), FORMS.get(name, {}))
        assert response.status_code == 302, name
        assert response["Location"].startswith("/login/"), name


def test_admin_only_pages_are_refused_to_agents_even_to_read(as_role, world):
    agent = as_role("agent")
    for name in ("imports", "campaign-settings", "campaign-json", "staff", "import"):
        assert agent.get(reverse(f"portal:{name}", kwargs=world.get(name, {}))).status_code == 403, name


def test_a_viewer_can_read_every_read_only_page_but_sees_no_action(as_role, world):
    viewer = as_role("viewer")
    for name in READ_ONLY - {"import"}:
        response = viewer.get(reverse(f"portal:{name}", kwargs=world.get(name, {})))
        assert response.status_code == 200, name
    page = viewer.get(reverse("portal:referral", kwargs=world["referral-status"])).content.decode()
    assert "Flagged" in page and 'name="confirm"' not in page


def test_a_member_of_another_site_gets_404_for_this_site_s_objects(client, outsider, world):
    client.force_login(outsider)
    for name in ("referral", "person", "person-why", "email", "campaign", "coupon-list"):
        assert client.get(reverse(f"portal:{name}", kwargs=world[name])).status_code == 404, name
    status = client.post(
        reverse("portal:referral-status", kwargs=world["referral-status"]), FORMS["referral-status"]
    )
    assert status.status_code == 404
    resend = client.post(reverse("portal:email-resend", kwargs=world["email-resend"]))
    assert resend.status_code == 404
    assert Referral.objects.get(pk=world["referral-status"]["referral_id"]).status == "flagged"
    assert client.get(reverse("portal:home")).content.decode().count("Spring referral") == 0


def test_a_user_without_a_membership_is_refused(client, db):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("nobody", password=PASSWORD))
    assert client.get("/").status_code == 403


def test_every_form_needs_its_csrf_token(staff, world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff["admin"])
    response = browser.post(
        reverse("portal:referral-status", kwargs=world["referral-status"]), FORMS["referral-status"]
    )
    assert response.status_code == 403
    assert Referral.objects.get(pk=world["referral-status"]["referral_id"]).status == "flagged"
    assert 'name="csrfmiddlewaretoken"' in browser.get(reverse("portal:referral-create")).content.decode()


def test_viewers_see_people_s_emails_masked_in_lists_and_agents_in_full(client, staff, world):
    client.force_login(staff["viewer"])
    queue = client.get(reverse("portal:queue")).content.decode()
    assert "s***@ganleywestside.com" in queue and "n***@example.com" in queue
    assert "stephanie@ganleywestside.com" not in queue
    client.force_login(staff["agent"])
    assert "stephanie@ganleywestside.com" in client.get(reverse("portal:queue")).content.decode()


def login(client, username, password, ip="203.0.113.9"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_five_failed_logins_in_fifteen_minutes_lock_the_username_from_that_address(client, staff):
    for _ in range(5):
        assert login(client, "agent", "wrong").status_code == 200
    locked = login(client, "agent", PASSWORD)
    assert locked.status_code == 200
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session

    other_address = Client()
    assert login(other_address, "agent", PASSWORD, ip="198.51.100.1").status_code == 302

    clock.advance(timedelta(minutes=15, seconds=1))
    assert login(client, "agent", PASSWORD).status_code == 302


def test_a_successful_login_forgets_earlier_failures(client, staff):
    for _ in range(4):
        login(client, "agent", "wrong")
    assert login(client, "agent", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        login(client, "agent", "wrong")
    assert login(client, "agent", PASSWORD).status_code == 302


def test_failures_older_than_the_window_do_not_count(client, staff):
    for _ in range(4):
        login(client, "agent", "wrong")
    clock.advance(timedelta(minutes=16))
    login(client, "agent", "wrong")
    assert login(client, "agent", PASSWORD).status_code == 302


def test_the_site_switcher_only_offers_the_user_s_sites(client, staff, other_site, site):
    Membership.objects.create(site=other_site, user=staff["agent"], role="viewer")
    client.force_login(staff["agent"])
    home = client.get("/").content.decode()
    assert "Globex" in home and "Acme" in home
    assert client.post(reverse("portal:site-switch"), {"site": other_site.pk}).status_code == 302
    assert "<h1>Globex</h1>" in client.get("/").content.decode()
    assert client.post(reverse("portal:referral-create"), {}).status_code == 403, "a viewer on Globex"
    stranger = site.__class__.objects.create(slug="initech", name="Initech")
    assert client.post(reverse("portal:site-switch"), {"site": stranger.pk}).status_code == 400


def session_writes(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")]


def test_reading_pages_writes_the_session_at_most_once_a_minute_and_each_write_extends_it(client, staff):
    client.force_login(staff["agent"])
    session_writes(client, "/")
    expiry = Session.objects.get().expire_date
    assert session_writes(client, "/") == [], "a page read within the minute writes nothing"
    assert session_writes(client, "/search/?q=x") == []
    clock.advance(timedelta(seconds=61))
    assert len(session_writes(client, "/")) == 1
    assert Session.objects.get().expire_date > expiry, "the idle timeout counts from this request"
    assert session_writes(client, "/") == []
    client.logout()
    assert client.get("/").status_code == 302 and not Session.objects.exists()
