"""Racing writers on PostgreSQL: nothing lost, nothing twice."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from conftest import CAMPAIGN, ApiClient, stock
from vouch.audit.services import ActorRef
from vouch.campaigns.models import Campaign
from vouch.people.services import person_get_or_create
from vouch.referrals.models import Referral
from vouch.referrals.services import referral_create_manual, referral_set_status
from vouch.rewards.models import Coupon, Reward
from vouch.sites.services import api_key_create, site_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
STAFF = ActorRef(kind="staff", label="race")


def manual_referrals(campaign, count: int) -> list:
    """`count` referrals by hand, each from its own advocate so velocity checks stay quiet."""
    site = campaign.site
    return [
        referral_create_manual(
            campaign=campaign,
            advocate=person_get_or_create(site=site, email=f"advocate{i}@example.com"),
            friend=person_get_or_create(site=site, email=f"friend{i}@example.org"),
            actor=STAFF,
            subtotal=50,
            currency="USD",
        )
        for i in range(count)
    ]


def in_threads(count: int, work, items):
    barrier = threading.Barrier(count)

    def run(item):
        try:
            barrier.wait(timeout=10) if item in items[:count] else None
            return work(item)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, items))


def test_one_order_sent_by_eight_threads_is_one_referral():
    site = site_create(slug="race")
    _, key = api_key_create(site=site)
    api = ApiClient(key)
    assert api.post("/campaigns", CAMPAIGN).status_code == 201
    stock(site, "friend-codes", ["FRIEND001"])
    stock(site, "advocate-codes", ["ADV001"])
    code = api.post(
        "/shares", {"campaign": "spring", "advocate": {"email": "ann@example.com"}, "channel": "link"}
    )
    share_code = code.json()["share"]["code"]
    coupon = api.post("/offers", {"share_code": share_code, "email": "bob@example.com"}).json()["offer"][
        "coupon_code"
    ]
    body = {
        "type": "purchase",
        "id": "ORDER-RACE",
        "email": "bob@example.com",
        "subtotal": "80.00",
        "coupon_codes": [coupon],
    }

    statuses = in_threads(8, lambda _: ApiClient(key).post("/events", body).status_code, list(range(8)))

    assert sorted(statuses) == [200] * 7 + [201]
    assert Referral.objects.filter(site=site).count() == 1
    assert Reward.objects.filter(site=site, status="given").count() == 1


def test_two_hundred_approvals_racing_for_one_hundred_codes():
    site = site_create(slug="codes")
    campaign_body = {**CAMPAIGN, "delays": {"auto_approval_hours": 48}}
    from vouch.campaigns.definition import CampaignDefinition
    from vouch.campaigns.services import campaign_create

    campaign_create(site=site, definition=CampaignDefinition.model_validate(campaign_body), actor=STAFF)
    campaign = Campaign.objects.get(site=site, slug="spring")
    stock(site, "advocate-codes", [f"CODE{i:04}" for i in range(100)])
    referrals = manual_referrals(campaign, 200)
    assert {r.status for r in referrals} == {"pending"}

    in_threads(8, lambda r: referral_set_status(referral=r, status="approved", actor=STAFF), referrals)

    rewards = Reward.objects.filter(site=site)
    assert rewards.filter(status="given").count() == 100
    assert rewards.filter(status="waiting_for_coupon").count() == 100
    codes = list(rewards.filter(status="given").values_list("code", flat=True))
    assert len(set(codes)) == 100
    assert Coupon.objects.filter(coupon_list__site=site, given_at__isnull=True).count() == 0
    assert Referral.objects.filter(site=site, status="approved").count() == 200


def test_two_workers_take_each_due_step_once():
    from datetime import timedelta

    from vouch import clock
    from vouch.campaigns.definition import CampaignDefinition
    from vouch.campaigns.services import campaign_create
    from vouch.referrals.models import StatusChange, TimedStep
    from vouch.worker import run_once

    site = site_create(slug="workers")
    definition = CampaignDefinition.model_validate({**CAMPAIGN, "delays": {"auto_approval_hours": 1}})
    campaign = campaign_create(site=site, definition=definition, actor=STAFF)
    stock(site, "advocate-codes", [f"W{i:04}" for i in range(60)])
    manual_referrals(campaign, 60)
    clock.advance(timedelta(hours=2))

    def drain(_):
        while run_once(batch=5):
            pass

    in_threads(2, drain, [0, 1])

    assert TimedStep.objects.filter(site=site, done_at__isnull=True).count() == 0
    assert StatusChange.objects.filter(site=site, to_status="approved").count() == 60
    assert Reward.objects.filter(site=site, status="given").count() == 60
