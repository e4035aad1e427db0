"""Unsubscribe (API and the email's link) and GDPR anonymisation keep counts but no personal data."""

import json

from django.core import mail
from django.test import Client

from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch.audit.models import AuditEntry
from vouch.emails.models import Email
from vouch.emails.rendering import unsubscribe_url
from vouch.events.models import Event
from vouch.people.models import Person
from vouch.referrals.models import Referral
from vouch.rewards.models import Reward
from vouch.shares.models import Offer, Share, Visit
from vouch.worker import run_once

ADVOCATE = "stephanie@ganleywestside.com"
FRIEND = "levi@yahoo.com"


def test_unsubscribe_through_the_api_stops_queued_and_later_emails(api, campaign, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    share_and_claim(api)

    response = api.post(f"/people/{FRIEND}/unsubscribe")
    run_once()
    again = api.post(f"/people/{FRIEND}/unsubscribe")

    assert response.status_code == 200 and response.json()["unsubscribed_at"]
    assert again.json()["unsubscribed_at"] == response.json()["unsubscribed_at"]
    share_email = Email.objects.get(type="friend_share")
    assert share_email.status == "not_sent" and "unsubscribed" in share_email.reason
    assert mail.outbox == []
    resent = api.post(f"/emails/{share_email.pk}/resend").json()
    assert resent["status"] == "not_sent" and resent["resent_from"] == share_email.pk
    assert AuditEntry.objects.filter(action="person.unsubscribe").count() == 1
    assert api.post("/people/nobody@example.com/unsubscribe").status_code == 404


def test_the_unsubscribe_link_asks_then_unsubscribes(api, campaign):
    share_and_claim(api)
    friend = Person.objects.get(email=FRIEND)
    url = unsubscribe_url(friend.pk).removeprefix("http://127.0.0.1:8000")
    browser = Client(enforce_csrf_checks=True)

    page = browser.get(url)
    assert page.status_code == 200 and b'<form method="post">' in page.content
    friend.refresh_from_db()
    assert friend.unsubscribed_at is None, "opening the link (or a mail scanner following it) changes nothing"

    done = browser.post(url)
    friend.refresh_from_db()
    assert done.status_code == 200 and b"You are unsubscribed" in done.content
    assert friend.unsubscribed_at is not None
    assert AuditEntry.objects.get(action="person.unsubscribe").actor == "person"
    assert browser.get(url[:-3] + "xyz").status_code == 404
    assert browser.get("/u/not-a-token").status_code == 404


def test_anonymise_keeps_referrals_and_rewards_but_no_personal_data(api, other_api, campaign):
    _, coupon = share_and_claim(api)
    Client().get(f"/r/{Share.objects.get().code}", REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="Firefox")
    purchase(
        api,
        coupon=coupon,
        ip="198.51.100.7",
        visitor_uuid="6f1c1d4e-4b8e-4c1e-9a51-5c2f0f6f3a10",
        shipping_address="12 Rue de la Paix, Paris",
        first_name="Levi",
    )
    referrals, rewards = Referral.objects.count(), Reward.objects.count()
    friend = Person.objects.get(email=FRIEND)

    assert other_api.post(f"/people/{FRIEND}/anonymise").status_code == 404
    response = api.post(f"/people/{FRIEND}/anonymise")

    assert response.status_code == 200, response.content
    placeholder = f"anonymised-{friend.pk}@invalid"
    assert response.json()["email"] == placeholder and response.json()["anonymised_at"]
    assert api.get(f"/people/{FRIEND}").status_code == 404
    friend.refresh_from_db()
    assert (friend.first_name, friend.last_name, friend.fields, friend.unsubscribed_at is not None) == (
        "",
        "",
        {},
        True,
    )
    assert (Referral.objects.count(), Reward.objects.count()) == (referrals, rewards)
    assert Reward.objects.get().status == "given"
    event = Event.objects.get(person=friend)
    assert (event.ip, event.visitor_uuid, event.shipping_address) == ("", "", "")
    assert FRIEND not in json.dumps(event.payload) and "Paris" not in json.dumps(event.payload)
    assert all(o.ip == "" and o.visitor_uuid == "" for o in Offer.objects.filter(friend=friend))
    assert Share.objects.get().friend_email == placeholder
    assert all(
        e.text == "" and e.html == "" and e.to == placeholder for e in Email.objects.filter(person=friend)
    )
    advocate_email = Email.objects.get(type="advocate_reward_paid")
    assert FRIEND not in advocate_email.text and placeholder in advocate_email.text
    assert not Visit.objects.filter(ip="198.51.100.7").exists()

    everything = json.dumps(
        [list(AuditEntry.objects.values("before", "after")), list(Event.objects.values("payload", "result"))],
        default=str,
    )
    assert FRIEND not in everything and "198.51.100.7" not in everything
    assert AuditEntry.objects.filter(action="person.anonymise", object_id=str(friend.pk)).exists()
    advocate = api.get(f"/people/{ADVOCATE}").json()
    assert advocate["referrals_as_advocate"][0]["friend"]["email"] == placeholder
