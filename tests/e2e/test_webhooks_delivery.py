"""Outbound webhooks reach a real HTTP receiver on 127.0.0.1, signed; a failing receiver
is retried on the schedule until it is given up on, and can be redelivered or replayed."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch import clock
from vouch.webhooks.models import Delivery, DeliveryAttempt
from vouch.webhooks.services import MAX_ATTEMPTS, webhook_publish
from vouch.webhooks.signing import signature_verify
from vouch.worker import run_once


class Receiver:
    """A merchant's webhook receiver: verifies each signature with the endpoint's secret
    (against the engine's clock, which the tests move) and answers `status`."""

    def __init__(self):
        self.secret = ""
        self.status = 200
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                verified = signature_verify(
                    secret=receiver.secret,
                    header=self.headers.get("Vouch-Signature", ""),
                    body=body,
                    now=clock.now().timestamp(),
                )
                receiver.received.append({"body": json.loads(body), "verified": verified, "at": clock.now()})
                self.send_response(receiver.status if verified else 400)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/vouch"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def endpoint(api, receiver, types=("reward.given", "email.status_changed")) -> dict:
    response = api.post("/webhooks", {"url": receiver.url, "event_types": list(types)})
    assert response.status_code == 201, response.content
    receiver.secret = response.json()["secret"]
    return response.json()


def test_a_signed_event_reaches_the_receiver_once(api, site, receiver):
    hook = endpoint(api, receiver)

    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_publish(site_id=site.pk, type="reward.given", data={"reward": {"id": 6}})
        raise RuntimeError("the business write fails after publishing")
    run_once()
    assert receiver.received == [], "a rolled-back publish sends nothing"

    webhook_publish(site_id=site.pk, type="reward.given", data={"reward": {"id": 7, "value": "20.00"}})
    run_once()
    run_once()

    [request] = receiver.received
    assert request["verified"]
    body = request["body"]
    assert set(body) == {"id", "type", "version", "created_at", "site", "data"}
    assert (body["type"], body["version"], body["site"]) == ("reward.given", 1, "acme")
    assert body["data"] == {"reward": {"id": 7, "value": "20.00"}}
    page = api.get(f"/webhooks/{hook['id']}/deliveries").json()
    [delivery] = page["items"]
    assert delivery["status"] == "succeeded" and delivery["event"]["id"] == body["id"]
    [attempt] = delivery["attempts"]
    assert attempt["response_code"] == 200 and attempt["error"] == "" and attempt["duration_ms"] is not None


def test_a_wrong_secret_fails_verification(site, api, receiver):
    endpoint(api, receiver)
    receiver.secret = "whsec_not_the_right_one"

    webhook_publish(site_id=site.pk, type="reward.given", data={})
    run_once()

    assert [r["verified"] for r in receiver.received] == [False]
    assert Delivery.objects.get().status == "pending"
    assert DeliveryAttempt.objects.get().response_code == 400


def test_a_failing_receiver_is_retried_on_schedule_then_failed_and_can_be_redelivered(api, site, receiver):
    hook = endpoint(api, receiver)
    receiver.status = 500
    webhook_publish(site_id=site.pk, type="reward.given", data={"reward": {"id": 1}})

    waits = []
    run_once()
    while Delivery.objects.get().status == "pending":
        delivery = Delivery.objects.get()
        last = DeliveryAttempt.objects.filter(delivery=delivery).latest("started_at")
        waits.append(delivery.due_at - last.finished_at)
        wait = delivery.due_at - clock.now()
        clock.advance(wait - timedelta(seconds=1))
        run_once()
        assert len(receiver.received) == len(waits), "not retried before its time"
        clock.advance(timedelta(seconds=1))
        run_once()

    assert len(receiver.received) == MAX_ATTEMPTS
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=4), timedelta(minutes=16)]
    assert all(later >= earlier for earlier, later in zip(waits, waits[1:], strict=False))
    span = receiver.received[-1]["at"] - receiver.received[0]["at"]
    assert timedelta(days=2, hours=20) <= span <= timedelta(days=3, hours=2)
    failed = api.get(f"/webhooks/{hook['id']}/deliveries", status="failed").json()["items"][0]
    assert failed["last_error"] == "HTTP 500" and len(failed["attempts"]) == MAX_ATTEMPTS
    assert {a["response_code"] for a in failed["attempts"]} == {500}

    receiver.status = 204
    again = api.post(f"/webhooks/{hook['id']}/deliveries/{failed['id']}/redeliver")
    assert again.status_code == 201, again.content
    assert again.json()["redelivery_of"] == failed["id"] and again.json()["status"] == "pending"
    run_once()

    assert receiver.received[-1]["body"]["id"] == failed["event"]["id"]
    assert api.get(f"/webhooks/{hook['id']}/deliveries", status="succeeded").json()["count"] == 1


def test_replay_sends_the_stored_events_of_a_time_range_again(api, site, receiver):
    hook = endpoint(api, receiver, types=("reward.given",))
    start = clock.now()
    for n in range(3):
        webhook_publish(site_id=site.pk, type="reward.given", data={"n": n})
        webhook_publish(site_id=site.pk, type="reward.blocked", data={"n": n})
        clock.advance(timedelta(hours=1))
    run_once()
    assert len(receiver.received) == 3

    replay = api.post(
        f"/webhooks/{hook['id']}/replay",
        {"from": (start + timedelta(minutes=30)).isoformat(), "to": (start + timedelta(hours=3)).isoformat()},
    )
    run_once()

    assert replay.status_code == 202 and replay.json() == {"deliveries": 2}
    assert [r["body"]["data"]["n"] for r in receiver.received[3:]] == [1, 2]
    backwards = api.post(
        f"/webhooks/{hook['id']}/replay", {"from": start.isoformat(), "to": start.isoformat()}
    )
    assert backwards.status_code == 202 and backwards.json() == {"deliveries": 0}
    naive = api.post(
        f"/webhooks/{hook['id']}/replay", {"from": "2030-01-01T00:00:00", "to": "2030-01-02T00:00:00"}
    )
    assert naive.status_code == 422


def test_an_email_status_change_and_a_reward_reach_the_receiver(api, campaign, receiver, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    endpoint(api, receiver)
    _, coupon = share_and_claim(api)
    purchase(api, coupon=coupon)
    run_once()
    run_once()
    from vouch.emails.models import Email
    from vouch.emails.services import email_status_record

    paid = Email.objects.get(type="advocate_reward_paid")
    email_status_record(message_id=paid.message_id, event_type="delivered", at=clock.now())
    email_status_record(message_id=paid.message_id, event_type="delivered", at=clock.now())
    run_once()

    changes = [r["body"] for r in receiver.received if r["body"]["type"] == "email.status_changed"]
    assert len(changes) == 1, "a repeated report changes nothing and publishes nothing"
    assert changes[0]["data"]["email"]["status"] == "delivered"
    assert changes[0]["data"]["previous_status"] == "sent"
    assert all(r["verified"] for r in receiver.received)


def test_endpoints_are_created_read_updated_deleted_and_kept_to_their_site(api, other_api, receiver):
    hook = endpoint(api, receiver)
    assert hook["secret"].startswith("whsec_") and hook["active"] is True

    updated = api.put(
        f"/webhooks/{hook['id']}",
        {
            "url": receiver.url,
            "event_types": ["coupon_list.low_stock"],
            "active": False,
            "rotate_secret": True,
        },
    )
    assert updated.status_code == 200, updated.content
    assert updated.json()["event_types"] == ["coupon_list.low_stock"] and updated.json()["active"] is False
    assert updated.json()["secret"] != hook["secret"]
    assert [e["id"] for e in api.get("/webhooks").json()] == [hook["id"]]

    assert (
        api.post("/webhooks", {"url": "ftp://example.com", "event_types": ["reward.given"]}).status_code
        == 422
    )
    assert api.post("/webhooks", {"url": receiver.url, "event_types": ["reward.eaten"]}).status_code == 422
    assert api.post("/webhooks", {"url": receiver.url, "event_types": []}).status_code == 422
    assert other_api.get(f"/webhooks/{hook['id']}").status_code == 404
    assert other_api.get(f"/webhooks/{hook['id']}/deliveries").status_code == 404
    assert (
        other_api.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=other_api.headers).status_code
        == 404
    )

    assert api.client.delete(f"/api/v1/webhooks/{hook['id']}", headers=api.headers).status_code == 204
    assert api.get(f"/webhooks/{hook['id']}").status_code == 404


def test_a_coupon_list_running_low_is_announced_once_until_codes_are_added(api, campaign, site, receiver):
    from conftest import stock
    from vouch.rewards.models import CouponList

    endpoint(api, receiver, types=("coupon_list.low_stock",))
    CouponList.objects.filter(slug="advocate-codes").update(low_stock_days=1000)
    for i in range(1, 4):
        friend = f"friend{i}@example.com"
        _, coupon = share_and_claim(api, friend=friend)
        purchase(api, order=f"LOW-{i}", email=friend, coupon=coupon)
    run_once()

    [warning] = [r["body"] for r in receiver.received]
    assert warning["type"] == "coupon_list.low_stock"
    assert warning["data"]["coupon_list"] == "advocate-codes"
    assert warning["data"]["remaining"] == 19
    stock(site, "advocate-codes", ["MORE1"])
    assert CouponList.objects.get(slug="advocate-codes").low_stock_notified_at is None
