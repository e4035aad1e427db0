"""webhook_publish writes rows in the caller's transaction and nothing else."""

import pytest
from django.db import transaction

from vouch import clock
from vouch.read_cache import reads_cached
from vouch.webhooks.models import Delivery, Endpoint, WebhookEvent
from vouch.webhooks.services import webhook_publish


def _endpoint(site, *, types, active=True, url="http://127.0.0.1:9/hook"):
    now = clock.now()
    return Endpoint.objects.create(
        site=site,
        url=url,
        secret="whsec_test",
        event_types=types,
        active=active,
        created_at=now,
        updated_at=now,
    )


def test_publish_queues_one_delivery_per_subscribed_active_endpoint(site):
    subscribed = _endpoint(site, types=["reward.given", "reward.blocked"])
    _endpoint(site, types=["reward.blocked"])
    _endpoint(site, types=["reward.given"], active=False)

    webhook_publish(site_id=site.pk, type="reward.given", data={"reward": {"id": 1, "value": "20.00"}})

    event = WebhookEvent.objects.get()
    assert event.type == "reward.given" and event.uid.startswith("evt_")
    assert event.data == {"reward": {"id": 1, "value": "20.00"}}
    assert [d.endpoint_id for d in Delivery.objects.all()] == [subscribed.pk]
    assert Delivery.objects.get().due_at is not None


def test_publish_inside_a_rolled_back_transaction_leaves_nothing(site):
    _endpoint(site, types=["reward.given"])

    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_publish(site_id=site.pk, type="reward.given", data={})
        raise RuntimeError("the business write failed")

    assert not WebhookEvent.objects.exists() and not Delivery.objects.exists()


def test_publish_refuses_an_unknown_type(site):
    with pytest.raises(ValueError, match="Unknown webhook event type"):
        webhook_publish(site_id=site.pk, type="referral.deleted", data={})


def test_an_event_no_endpoint_lists_is_not_stored(site):
    _endpoint(site, types=["reward.blocked"])

    webhook_publish(site_id=site.pk, type="reward.given", data={"reward": 1})

    assert not WebhookEvent.objects.exists() and not Delivery.objects.exists()


def test_a_paused_endpoint_keeps_its_events_for_a_replay_but_gets_no_delivery(site):
    _endpoint(site, types=["reward.given"], active=False)

    webhook_publish(site_id=site.pk, type="reward.given", data={"reward": 1})

    assert WebhookEvent.objects.get().type == "reward.given"
    assert not Delivery.objects.exists()


def test_endpoints_are_read_once_inside_reads_cached_and_every_time_outside(site, django_assert_num_queries):
    _endpoint(site, types=["reward.blocked"])

    with django_assert_num_queries(1), reads_cached():
        for _ in range(3):
            webhook_publish(site_id=site.pk, type="reward.given", data={})
    with django_assert_num_queries(2):
        for _ in range(2):
            webhook_publish(site_id=site.pk, type="reward.given", data={})
