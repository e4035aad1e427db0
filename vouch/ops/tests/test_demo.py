"""`vouch demo`: one load is ~3 s (three password hashes included), so each test loads once."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from vouch.ops.demo import demo_counts, demo_load
from vouch.referrals.models import Referral
from vouch.rewards.models import Reward
from vouch.sites.models import Membership, Site
from vouch.sites.services import api_key_authenticate

REFERRAL_STATUSES = {"pending", "flagged", "approved", "voided", "blocked", "unblocked"}
REWARD_STATUSES = {"given", "pending", "waiting_for_coupon", "blocked", "voided"}


@pytest.mark.django_db
def test_demo_has_referrals_and_rewards_in_every_status():
    result = demo_load(out=lambda line: None)

    site = Site.objects.get(slug="demo")
    assert site.name == "Demo Outfitters"
    referrals = Referral.objects.filter(site=site)
    assert set(referrals.values_list("status", flat=True)) >= REFERRAL_STATUSES
    assert set(Reward.objects.filter(site=site).values_list("status", flat=True)) >= REWARD_STATUSES
    assert set(result.counts["referrals"]) >= REFERRAL_STATUSES
    assert set(result.counts["rewards"]) >= REWARD_STATUSES
    assert set(referrals.values_list("attributed_by", flat=True)) == {
        "coupon_code",
        "visitor_uuid",
        "email",
        "ip",
        "manual",
    }
    assert set(site.shares.values_list("channel", flat=True)) == {"email", "link", "sms", "social"}

    seed = referrals.get(advocate__email="stephanie@ganleywestside.com", friend__email="levi@yahoo.com")
    assert seed.status == "approved"
    assert (seed.advocate.first_name, seed.friend.first_name) == ("Stephanie", "Levi")
    [reward] = seed.rewards.all()
    assert reward.status == "given"
    assert reward.code.startswith("ADV20-")

    by_staff = {
        (change.from_status, change.to_status): change.reason
        for referral in referrals
        for change in referral.history.filter(actor="staff")
    }
    assert {("flagged", "approved"), ("pending", "voided"), ("blocked", "unblocked")} <= set(by_staff)
    assert all(by_staff.values())


@pytest.mark.django_db
def test_summary_lists_the_logins_and_a_second_load_changes_nothing():
    lines = []
    result = demo_load(out=lines.append)

    assert result.staff_username == "admin"
    assert f"Login: admin / {result.staff_password} (admin)" in lines
    assert [role for _, _, role in result.logins] == ["admin", "agent", "viewer"]
    for username, password, role in result.logins:
        assert f"Login: {username} / {password} ({role})" in lines
        user = get_user_model().objects.get(username=username)
        assert user.check_password(password)
        assert user.is_staff == user.is_superuser == (role == "admin")
        assert Membership.objects.get(site=result.site, user=user).role == role
    assert f"API key: {result.api_key}" in lines
    assert api_key_authenticate(result.api_key).site == result.site
    assert any(line.startswith("Referrals: ") and "unblocked 1" in line for line in lines)
    assert any(line.startswith("Rewards: ") and "waiting_for_coupon" in line for line in lines)

    before = demo_counts(result.site)
    password = get_user_model().objects.get(username="admin").password
    again = []
    assert demo_load(out=again.append) is None
    assert again == []
    assert demo_counts(result.site) == before
    assert Site.objects.count() == 1
    assert get_user_model().objects.get(username="admin").password == password


@pytest.mark.django_db
def test_command_loads_once_then_says_so_and_resets_existing_users():
    get_user_model().objects.create_user(username="agent", password="old", is_staff=True)
    first, second = StringIO(), StringIO()

    call_command("demo", "--site", "shop", "--seed", "3", stdout=first)
    call_command("demo", "--site", "shop", stdout=second)

    assert "Login: admin / " in first.getvalue()
    assert "Login: agent / " in first.getvalue()
    assert "API key: vk_" in first.getvalue()
    assert second.getvalue().strip() == "Demo site already loaded."
    agent = get_user_model().objects.get(username="agent")
    assert not agent.check_password("old")
    assert not agent.is_staff
    assert Referral.objects.filter(site__slug="shop").exists()
