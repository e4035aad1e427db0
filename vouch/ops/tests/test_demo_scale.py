"""`vouch demo --referrals N`: the rows written in bulk are the rows the services would have
written. One small load per module (2,000 referrals, a few seconds)."""

import time
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from vouch.emails.models import Email
from vouch.events.models import Event
from vouch.fraud.checks import CHECKS
from vouch.fraud.models import FraudResult
from vouch.ops.demo import STAFF_USERS
from vouch.ops.demo_scale import LEVI, MATEO, STEPHANIE, coupon_code
from vouch.pipelines import PIPELINES, decide
from vouch.referrals.models import Referral, StatusChange
from vouch.rewards.models import Coupon, Reward, RewardStatusChange
from vouch.sites.models import Site

N = 2000


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        out, err = StringIO(), StringIO()
        started = time.monotonic()
        call_command("demo", "--referrals", str(N), "--site", "big", "--seed", "3", stdout=out, stderr=err)
        seconds = time.monotonic() - started
        site = Site.objects.get(slug="big")
        yield site, out.getvalue(), seconds
        for site in Site.objects.filter(slug__in=("big", "again", "again2")):
            Reward.objects.filter(site=site).delete()  # they and offers protect coupons
            site.offers.all().delete()
            site.delete()
        get_user_model().objects.filter(username__in=[u for u, _ in STAFF_USERS]).delete()


@pytest.mark.django_db
def test_counts_per_table_and_speed(loaded):
    site, out, seconds = loaded
    assert seconds < 60
    assert "Loaded demo site 'big' at scale" in out
    assert Referral.objects.filter(site=site).count() == N
    assert Event.objects.filter(site=site, kind="purchase").count() == N
    assert FraudResult.objects.filter(site=site).count() == N * len(CHECKS)
    assert site.people.count() > N
    assert Reward.objects.filter(site=site).count() >= N
    assert Email.objects.filter(site=site).exists()
    statuses = set(Referral.objects.filter(site=site).values_list("status", flat=True))
    assert statuses >= {"approved", "pending", "flagged", "blocked", "voided", "unblocked"}


@pytest.mark.django_db
def test_every_history_is_a_walk_the_pipeline_allows_ending_at_the_current_status(loaded):
    site, _, _ = loaded
    histories = defaultdict(list)
    for referral_id, source, target, actor in (
        StatusChange.objects.filter(site=site)
        .order_by("created_at", "id")
        .values_list("referral_id", "from_status", "to_status", "actor")
    ):
        histories[referral_id].append((source, target, actor))
    for referral in Referral.objects.filter(site=site).select_related("campaign"):
        pipeline = PIPELINES[referral.campaign.pipeline]
        steps = histories[referral.pk]
        assert steps[0] == ("", pipeline.initial, "api")
        seen = [pipeline.initial]
        for source, target, actor in steps[1:]:
            assert source == seen[-1]
            assert decide(pipeline, current=source, target=target, actor=actor, history=seen).allowed
            seen.append(target)
        assert seen[-1] == referral.status
        assert referral.status_changed_at >= referral.created_at


@pytest.mark.django_db
def test_rewards_follow_the_referral_and_say_why_when_not_given(loaded):
    site, _, _ = loaded
    expected = {"approved": "given", "unblocked": "given", "blocked": "blocked", "voided": "voided"}
    for reward in Reward.objects.filter(site=site).select_related("referral"):
        assert reward.status == expected.get(reward.referral.status, "pending")
        if reward.status in ("blocked", "voided"):
            assert reward.reason and reward.reason_code
        if reward.status == "given" and reward.kind == "coupon":
            assert reward.code and reward.coupon_id
    last = dict(
        RewardStatusChange.objects.filter(site=site)
        .order_by("created_at", "id")
        .values_list("reward_id", "to_status")
    )
    assert all(last[r.pk] == r.status for r in Reward.objects.filter(site=site))


@pytest.mark.django_db
def test_coupon_codes_are_unique_and_given_once(loaded):
    site, _, _ = loaded
    codes = list(Coupon.objects.filter(site=site).values_list("code", flat=True))
    assert len(codes) == len(set(codes))
    given = Counter(Reward.objects.filter(site=site).exclude(code="").values_list("code", flat=True))
    given.update(site.offers.exclude(coupon_code="").values_list("coupon_code", flat=True))
    assert max(given.values()) == 1
    assert len({coupon_code("X", n) for n in range(100_000)}) == 100_000


@pytest.mark.django_db
def test_known_people_a_heavy_advocate_and_a_typical_one(loaded):
    site, _, _ = loaded
    first = Referral.objects.filter(site=site).order_by("id").first()
    assert (first.advocate.email, first.friend.email, first.status) == (STEPHANIE, LEVI, "approved")
    stephanie = Referral.objects.filter(site=site, advocate__email=STEPHANIE).count()
    assert N * 0.03 < stephanie < N * 0.08
    assert 1 <= Referral.objects.filter(site=site, advocate__email=MATEO).count() <= 10


@pytest.mark.django_db
def test_the_same_seed_makes_the_same_site(loaded):
    def load(slug: str) -> list[tuple]:
        call_command(
            "demo", "--referrals", "50", "--site", slug, "--seed", "3", stdout=StringIO(), stderr=StringIO()
        )
        referrals = Site.objects.get(slug=slug).referrals.order_by("id")
        return list(
            referrals.values_list("status", "order_number", "subtotal", "advocate__email", "coupon_code")
        )

    assert load("again") == load("again2")
