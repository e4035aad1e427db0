"""A thousand rewards racing for five hundred codes on PostgreSQL: each code is given at
most once, the losers wait for a coupon, and a top-up gives the waiting rewards oldest first."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count, F

from conftest import CAMPAIGN, stock
from vouch import clock
from vouch.audit.services import ActorRef
from vouch.campaigns.definition import CampaignDefinition
from vouch.campaigns.services import campaign_create
from vouch.people.services import person_get_or_create
from vouch.referrals.models import Referral
from vouch.rewards.models import Coupon, CouponList, Reward, Status
from vouch.rewards.services import coupon_list_top_up, reward_give
from vouch.sites.services import site_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
STAFF = ActorRef(kind="staff", label="race")
REWARDS, CODES, THREADS = 1000, 500, 12


def pending_rewards(count: int) -> list[int]:
    """`count` pending advocate rewards on `count` referrals, written in bulk: the race is
    about giving them, not about opening referrals one by one. Their creation times are
    shuffled so "oldest first" cannot be confused with "lowest id first"."""
    site = site_create(slug="reward-race")
    definition = CampaignDefinition.model_validate({**CAMPAIGN, "delays": {"auto_approval_hours": 48}})
    campaign = campaign_create(site=site, definition=definition, actor=STAFF)
    advocate = person_get_or_create(site=site, email="ann@example.com")
    coupon_list = CouponList.objects.get(site=site, slug="advocate-codes")
    stock(site, "advocate-codes", [f"RACE{i:04}" for i in range(CODES)])
    now = clock.now()
    referrals = Referral.objects.bulk_create(
        Referral(
            site=site,
            campaign=campaign,
            advocate=advocate,
            status="approved",
            attributed_by="manual",
            created_at=now,
            status_changed_at=now,
        )
        for _ in range(count)
    )
    offsets = list(range(count))
    random.Random(7).shuffle(offsets)
    rewards = Reward.objects.bulk_create(
        Reward(
            site=site,
            referral=referral,
            person=advocate,
            role="advocate",
            source="incentive",
            kind="coupon",
            status=Status.PENDING,
            coupon_list=coupon_list,
            value=20,
            currency="USD",
            created_at=now - timedelta(hours=1) + timedelta(seconds=offset),
        )
        for referral, offset in zip(referrals, offsets, strict=True)
    )
    return [r.pk for r in rewards]


def give_in_threads(reward_ids: list[int]) -> None:
    """Each thread gives its share of the rewards, each in its own transaction, on its own
    connection; all threads start together."""
    barrier = threading.Barrier(THREADS)
    chunks = [reward_ids[i::THREADS] for i in range(THREADS)]

    def work(chunk: list[int]) -> None:
        try:
            barrier.wait(timeout=30)
            for pk in chunk:
                with transaction.atomic():
                    reward = Reward.objects.select_related(
                        "coupon_list", "person", "referral__campaign", "referral__friend"
                    ).get(pk=pk)
                    reward_give(reward=reward)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(work, chunks))


def test_a_thousand_rewards_race_for_five_hundred_codes_then_a_top_up_gives_the_rest_oldest_first():
    reward_ids = pending_rewards(REWARDS)
    random.Random(11).shuffle(reward_ids)

    give_in_threads(reward_ids)

    rewards = Reward.objects.filter(pk__in=reward_ids)
    assert rewards.filter(status=Status.GIVEN).count() == CODES
    assert rewards.filter(status=Status.WAITING_FOR_COUPON).count() == REWARDS - CODES
    assert rewards.filter(status=Status.PENDING).count() == 0
    given = rewards.filter(status=Status.GIVEN)
    assert given.filter(coupon__isnull=True).count() == 0
    assert given.values("code").distinct().count() == CODES
    assert given.values("coupon_id").distinct().count() == CODES
    twice = Reward.objects.filter(coupon__isnull=False).values("coupon_id").annotate(n=Count("id"))
    assert not twice.filter(n__gt=1).exists()
    coupons = Coupon.objects.filter(coupon_list__site__slug="reward-race")
    assert coupons.filter(given_at__isnull=True).count() == 0
    assert not given.exclude(code=F("coupon__code")).exists()
    waiting_oldest_first = list(
        rewards.filter(status=Status.WAITING_FOR_COUPON)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    assert waiting_oldest_first != sorted(waiting_oldest_first), "creation order must differ from id order"

    site = Reward.objects.get(pk=reward_ids[0]).site
    result = coupon_list_top_up(
        site=site, slug="advocate-codes", codes=[f"MORE{i:04}" for i in range(CODES)], actor=STAFF
    )

    assert len(result.added) == CODES
    assert result.rewards_given == waiting_oldest_first
    assert rewards.filter(status=Status.GIVEN).count() == REWARDS
    assert rewards.values("code").distinct().count() == REWARDS
    late = {r.pk: r for r in Reward.objects.filter(pk__in=waiting_oldest_first).select_related("coupon")}
    in_order = [late[pk] for pk in waiting_oldest_first]
    assert all(r.coupon.code.startswith("MORE") for r in in_order)
    assert [r.coupon_id for r in in_order] == sorted(r.coupon_id for r in in_order)
    assert [r.given_at for r in in_order] == sorted(r.given_at for r in in_order)
    assert coupons.filter(given_at__isnull=True).count() == 0
