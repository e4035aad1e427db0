"""Use case 2, "Where is the advocate's reward?": the reward email is queued with the
reward, sent by the worker, tracked through the ESP's real webhook endpoint, and resent."""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta

import pytest
from anymail.backends.test import EmailBackend as AnymailTestBackend
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.test import Client

from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch import clock
from vouch.emails.models import Email
from vouch.worker import INTERRUPTED_SEND, run_once

ADVOCATE = "stephanie@ganleywestside.com"
SIGNING_KEY = "mailgun-signing-key"
BASIC = "Basic " + base64.b64encode(b"hooks:s3cret").decode()


class PostmarkLikeBackend(AnymailTestBackend):
    """anymail's own test ESP, answering with Postmark-style message ids (UUIDs)."""

    def get_esp_message_id(self, message):
        return str(uuid.uuid4())


class SendThenDieBackend(LocmemBackend):
    """The ESP accepts the message, then the worker is killed before it can record that."""

    def send_messages(self, messages):
        super().send_messages(messages)
        raise SystemExit("worker killed")


@pytest.fixture
def esp(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hooks:s3cret", "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    return settings


def mailgun_post(event: str, message_id: str, at: float, **extra):
    """A Mailgun tracking webhook as Mailgun sends it: the event data, and a signature
    block whose signature is HMAC-SHA256(signing key, timestamp + token)."""
    token = uuid.uuid4().hex + uuid.uuid4().hex[:18]
    timestamp = str(int(at))
    signature = hmac.new(SIGNING_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    payload = {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": event,
            "timestamp": at,
            "id": uuid.uuid4().hex[:22],
            "log-level": "info",
            "recipient": ADVOCATE,
            "recipient-domain": "ganleywestside.com",
            "tags": [],
            "campaigns": [],
            "user-variables": {},
            "flags": {
                "is-routed": False,
                "is-authenticated": True,
                "is-system-test": False,
                "is-test-mode": False,
            },
            "message": {
                "headers": {
                    "to": ADVOCATE,
                    "message-id": message_id.strip("<>"),
                    "from": "referrals@vouch.localhost",
                    "subject": "Your referral reward from Spring referral",
                },
                "attachments": [],
                "size": 2117,
            },
            **extra,
        },
    }
    return Client().post(
        "/anymail/mailgun/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"Authorization": BASIC},
    )


def postmark_post(payload: dict):
    return Client().post(
        "/anymail/postmark/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        headers={"Authorization": BASIC},
    )


def reward_email(api) -> dict:
    _, coupon = share_and_claim(api)
    response = purchase(api, coupon=coupon)
    assert response.status_code == 201, response.content
    assert response.json()["referral"]["rewards"][0]["status"] == "given"
    queued = Email.objects.get(type="advocate_reward_paid")
    assert queued.status == "queued", "the email is written with the reward, before any worker runs"
    assert queued.referral_id == response.json()["referral"]["id"]
    return response.json()


def person_email(api, email_id: int) -> dict:
    person = api.get(f"/people/{ADVOCATE}").json()
    return next(e for e in person["emails"] if e["id"] == email_id)


def test_reward_email_is_sent_tracked_through_mailgun_and_resent(api, campaign, esp):
    reward_email(api)
    paid = Email.objects.get(type="advocate_reward_paid")

    run_once()

    [sent] = [m for m in mail.outbox if m.to == [ADVOCATE]]
    html, mimetype = sent.alternatives[0]
    assert mimetype == "text/html" and "Thanks for referring levi@yahoo.com" in html
    unsubscribe = sent.extra_headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("http://127.0.0.1:8000/u/")
    assert unsubscribe in sent.body and unsubscribe in html
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    details = api.get(f"/emails/{paid.pk}").json()
    assert details["status"] == "sent" and details["sent_at"]
    assert details["message_id"] == sent.extra_headers["Message-ID"]

    sent_at = clock.now()
    opened_at = (sent_at + timedelta(minutes=30)).timestamp()
    delivered_at = (sent_at + timedelta(seconds=4)).timestamp()
    clicked_at = (sent_at + timedelta(minutes=31)).timestamp()
    assert mailgun_post("opened", details["message_id"], opened_at, ip="203.0.113.9").status_code == 200
    late = mailgun_post(
        "delivered",
        details["message_id"],
        delivered_at,
        **{"delivery-status": {"code": 250, "message": "OK", "description": "", "attempt-no": 1}},
    )
    assert late.status_code == 200
    shown = person_email(api, paid.pk)
    assert shown["status"] == "opened", "a late delivered report does not move the status back"
    assert shown["delivered_at"].startswith(
        clock.now().fromtimestamp(delivered_at).astimezone().isoformat()[:10]
    )

    assert (
        mailgun_post("clicked", details["message_id"], clicked_at, url="https://acme.test/r").status_code
        == 200
    )
    assert mailgun_post("opened", "<unknown@example.org>", clicked_at).status_code == 200

    shown = person_email(api, paid.pk)
    assert shown["status"] == "clicked"
    for field, at in (("delivered_at", delivered_at), ("opened_at", opened_at), ("clicked_at", clicked_at)):
        assert abs(datetime.fromisoformat(shown[field]).timestamp() - at) < 0.01, field

    resent = api.post(f"/emails/{paid.pk}/resend")
    assert resent.status_code == 201, resent.content
    assert resent.json()["resent_from"] == paid.pk and resent.json()["status"] == "queued"
    run_once()
    copies = [m for m in mail.outbox if m.to == [ADVOCATE]]
    assert len(copies) == 2
    assert copies[1].alternatives[0][0] == html and copies[1].body == sent.body
    assert person_email(api, resent.json()["id"])["status"] == "sent"


def test_mailgun_refuses_an_unsigned_or_unauthenticated_event(api, campaign, esp):
    reward_email(api)
    run_once()
    message_id = Email.objects.get(type="advocate_reward_paid").message_id
    forged = Client().post(
        "/anymail/mailgun/tracking/",
        data=json.dumps(
            {
                "signature": {"timestamp": "1", "token": "x", "signature": "0" * 64},
                "event-data": {"event": "delivered", "message": {"headers": {"message-id": message_id}}},
            }
        ),
        content_type="application/json",
        headers={"Authorization": BASIC},
    )
    no_auth = Client().post("/anymail/mailgun/tracking/", data="{}", content_type="application/json")

    assert forged.status_code == 400
    assert no_auth.status_code in (400, 401, 403)
    assert Email.objects.get(type="advocate_reward_paid").status == "sent"


def test_a_bounce_reported_by_mailgun_rejects_the_email_with_its_reason(api, campaign, esp):
    reward_email(api)
    run_once()
    paid = Email.objects.get(type="advocate_reward_paid")

    response = mailgun_post(
        "failed",
        paid.message_id,
        clock.now().timestamp(),
        severity="permanent",
        reason="bounce",
        **{"delivery-status": {"code": 550, "message": "5.1.1 mailbox does not exist", "description": ""}},
    )

    assert response.status_code == 200
    shown = person_email(api, paid.pk)
    assert shown["status"] == "rejected" and shown["rejected_at"]
    assert "mailbox does not exist" in shown["reason"]


def test_postmark_delivery_open_and_click_reach_the_email(api, campaign, esp):
    esp.EMAIL_BACKEND = "tests.e2e.test_emails_walk.PostmarkLikeBackend"
    reward_email(api)
    run_once()
    paid = Email.objects.get(type="advocate_reward_paid")
    uuid.UUID(paid.message_id)  # the ESP's id is what is recorded
    common = {"MessageStream": "outbound", "MessageID": paid.message_id, "Metadata": {}, "Tag": ""}

    responses = [
        postmark_post(
            {
                "RecordType": "Open",
                "FirstOpen": True,
                "Client": {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"},
                "OS": {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
                "Platform": "WebMail",
                "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5)",
                "ReadSeconds": 5,
                "Geo": {"CountryISOCode": "RS", "Country": "Serbia", "City": "Novi Sad", "IP": "188.2.95.4"},
                "ReceivedAt": "2030-01-02T10:30:00Z",
                "Recipient": ADVOCATE,
                **common,
            }
        ),
        postmark_post(
            {
                "RecordType": "Delivery",
                "ServerID": 23,
                "Recipient": ADVOCATE,
                "DeliveredAt": "2030-01-02T10:00:05Z",
                "Details": "smtp;250 2.0.0 OK",
                **common,
            }
        ),
        postmark_post(
            {
                "RecordType": "Click",
                "ClickLocation": "HTML",
                "Platform": "Desktop",
                "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_5)",
                "OriginalLink": "https://acme.test/account",
                "ReceivedAt": "2030-01-02T10:31:00Z",
                "Recipient": ADVOCATE,
                **common,
            }
        ),
    ]

    assert [r.status_code for r in responses] == [200, 200, 200]
    shown = person_email(api, paid.pk)
    assert shown["status"] == "clicked"
    assert shown["delivered_at"].startswith("2030-01-02T10:00:05")
    assert shown["opened_at"].startswith("2030-01-02T10:30:00")
    assert shown["clicked_at"].startswith("2030-01-02T10:31:00")


def test_postmark_needs_the_webhook_basic_auth(api, campaign, esp):
    response = Client().post(
        "/anymail/postmark/tracking/",
        data=json.dumps({"RecordType": "Delivery", "MessageID": "x"}),
        content_type="application/json",
        headers={"Authorization": "Basic " + base64.b64encode(b"hooks:wrong").decode()},
    )

    assert response.status_code in (400, 401, 403)


def test_a_worker_killed_after_the_esp_accepted_does_not_send_twice(api, campaign, esp):
    esp.EMAIL_BACKEND = "tests.e2e.test_emails_walk.SendThenDieBackend"
    reward_email(api)
    Email.objects.exclude(type="advocate_reward_paid").delete()

    with pytest.raises(SystemExit):
        run_once()
    assert len(mail.outbox) == 1
    assert Email.objects.get(type="advocate_reward_paid").status == "queued"

    esp.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run_once()
    assert len(mail.outbox) == 1, "the lease of the killed worker still holds"
    clock.advance(timedelta(minutes=5))
    run_once()
    run_once()

    assert len(mail.outbox) == 1
    paid = Email.objects.get(type="advocate_reward_paid")
    assert paid.status == "sent" and paid.reason == INTERRUPTED_SEND


def test_an_email_of_another_site_is_not_found(api, other_api, campaign, esp):
    reward_email(api)
    paid = Email.objects.get(type="advocate_reward_paid")

    assert other_api.get(f"/emails/{paid.pk}").status_code == 404
    assert other_api.post(f"/emails/{paid.pk}/resend").status_code == 404
