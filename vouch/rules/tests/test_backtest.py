"""Backtesting proposed rules: the differences it reports, and that it changes nothing."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from conftest import CAMPAIGN
from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch.campaigns.definition import CampaignDefinition
from vouch.campaigns.models import Campaign
from vouch.rules.backtest import (
    ReferralReplay,
    RulesFileError,
    RuleTrace,
    SimReward,
    backtest,
    compare,
    proposed_definition,
    totals,
)
from vouch.rules.engine import compile_rules

BONUS = {
    "id": "bonus",
    "trigger": {"type": "purchase"},
    "actions": [{"type": "reward", "reward": {"kind": "credit", "value": "10.00"}}],
}
STRICT_BONUS = {
    **BONUS,
    "actions": [
        {
            "type": "reward",
            "reward": {
                "kind": "credit",
                "value": "10.00",
                "criteria": [{"check": "minimum_purchase", "amount": "60.00"}],
            },
        }
    ],
}
VIP = {
    "id": "vip",
    "trigger": {"type": "purchase"},
    "condition": "event.subtotal >= 75.0",
    "actions": [{"type": "reward", "reward": {"kind": "points", "value": "500"}}],
}
AT = datetime(2026, 3, 1, tzinfo=UTC)


def sim(rule_id: str, *, status: str = "given", value: str = "10.00", source: str = "") -> SimReward:
    return SimReward(
        referral_id=1,
        person_id=1,
        role="advocate",
        source=source or f"rule:{rule_id}/0/e1",
        rule_id=rule_id,
        action_index=0,
        condition="",
        kind="credit",
        value=Decimal(value),
        currency="USD",
        status=status,
        created_at=AT,
    )


def replay(*rewards: SimReward, trace=()) -> ReferralReplay:
    return ReferralReplay(1, "#1", rewards={r.key: r for r in rewards}, trace=list(trace))


def rules_of(*rules: dict) -> dict:
    definition = CampaignDefinition.model_validate({**CAMPAIGN, "rules": list(rules)})
    return {r.id: r for r in compile_rules(definition)}


def test_compare_names_the_failed_criterion_the_unmet_condition_and_the_missing_rule():
    blocked = sim("bonus", status="blocked")
    blocked.reason = "Friend didn't meet minimum purchase requirement"
    current = replay(
        sim("bonus"), sim("vip", value="500", source="rule:vip/0/e1"), sim("old", source="rule:old/0")
    )
    proposed = replay(
        blocked,
        sim("new", source="rule:new/0"),
        trace=[RuleTrace("vip", "purchase", "event.subtotal >= 75.0", met=False)],
    )

    differences = compare(
        current, proposed, current_rules=rules_of(BONUS, VIP), proposed_rules=rules_of(STRICT_BONUS, VIP)
    )

    by_source = {d.source: d for d in differences}
    assert by_source["rule:bonus/0/e1"].change == "changed"
    assert "credit given → 10.00 USD credit blocked (Friend didn't meet minimum purchase" in (
        by_source["rule:bonus/0/e1"].why
    )
    assert by_source["rule:vip/0/e1"].change == "only_current"
    assert by_source["rule:vip/0/e1"].why == "the rule 'vip' did not hold: event.subtotal >= 75.0"
    assert by_source["rule:old/0"].why == "the rule 'old' is not in these rules"
    assert by_source["rule:new/0"].change == "only_proposed"
    assert by_source["rule:new/0"].why == "the rule 'new' is not in these rules"


def test_compare_is_silent_when_both_sides_agree():
    assert compare(replay(sim("bonus")), replay(sim("bonus")), current_rules={}, proposed_rules={}) == []


def test_totals_count_the_value_of_given_and_pending_rewards_only():
    result = totals(
        [sim("a"), sim("b", status="pending"), sim("c", status="blocked"), sim("d", status="voided")]
    )

    assert result.rewards == 4
    assert result.by_status == {"blocked": 1, "given": 1, "pending": 1, "voided": 1}
    assert result.value == Decimal("20.00")


def test_proposed_rules_come_as_a_list_or_under_rules_and_are_validated_like_a_campaign():
    current = CampaignDefinition.model_validate(CAMPAIGN)

    assert [r.id for r in proposed_definition(current, [BONUS]).rules] == ["bonus"]
    assert [r.id for r in proposed_definition(current, {"rules": [VIP]}).rules] == ["vip"]
    with pytest.raises(RulesFileError, match=r"rules\.0\.condition: Value error, not a valid condition"):
        proposed_definition(current, [{**VIP, "condition": "event.subtotal >="}])
    with pytest.raises(RulesFileError, match="used twice or is reserved"):
        proposed_definition(current, [BONUS, BONUS])
    with pytest.raises(RulesFileError, match="a list of rules"):
        proposed_definition(current, {"rule": []})


# --- against the database ------------------------------------------------------------------


@pytest.fixture
def history(api, campaign):
    """Two referred purchases, $49.90 and $80.00, under a campaign whose rule `bonus` gives
    $10 credit on every purchase; both referrals approved at once."""
    body = {**CAMPAIGN, "rules": [BONUS]}
    assert api.put("/campaigns/spring", body).status_code == 200, "campaign update"
    _, first = share_and_claim(api, friend="levi@yahoo.com")
    _, second = share_and_claim(api, advocate="ann@example.com", friend="bob@example.org")
    small = purchase(api, order="ORDER-1", coupon=first, subtotal="49.90").json()["referral"]
    large = purchase(api, order="ORDER-2", email="bob@example.org", coupon=second, subtotal="80.00").json()[
        "referral"
    ]
    assert small["status"] == large["status"] == "approved"
    assert sorted(r["status"] for r in small["rewards"]) == ["given", "given"]
    return Campaign.objects.get(slug="spring"), small, large


def row_counts() -> dict:
    return {
        m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.app_label != "contenttypes"
    }


def test_a_minimum_purchase_blocks_the_small_order_only_and_nothing_is_written(history):
    campaign, small, large = history
    current = CampaignDefinition.model_validate(campaign.definition)
    before = row_counts()

    report = backtest(campaign=campaign, proposed=proposed_definition(current, [STRICT_BONUS, VIP]))

    assert row_counts() == before
    assert report.referrals == 2
    changes = sorted((d.referral_id, d.change, d.source.split("/e")[0]) for d in report.differences)
    assert changes == [
        (small["id"], "changed", "rule:bonus/0"),
        (large["id"], "only_proposed", "rule:vip/0"),
    ]
    [changed] = [d for d in report.differences if d.change == "changed"]
    assert (changed.current.status, changed.proposed.status) == ("given", "blocked")
    assert changed.proposed.criterion == "Friend didn't meet minimum purchase requirement"
    assert changed.proposed.reason_code == "criterion_failed"
    [added] = [d for d in report.differences if d.change == "only_proposed"]
    assert added.proposed.value == Decimal("500") and added.proposed.status == "given"
    assert added.why == "the rule 'vip' is not in these rules"
    assert (report.current.rewards, report.current.value) == (4, Decimal("60.00"))
    assert report.current.by_status == {"given": 4}
    assert (report.proposed.rewards, report.proposed.value) == (5, Decimal("550.00"))
    assert report.proposed.by_status == {"blocked": 1, "given": 4}


def test_replaying_the_current_rules_reports_no_difference(history):
    campaign, *_ = history
    current = CampaignDefinition.model_validate(campaign.definition)

    report = backtest(campaign=campaign, proposed=proposed_definition(current, [BONUS]))

    assert report.differences == []
    assert report.current == report.proposed


def test_tiers_count_the_advocates_firings_in_memory(api, campaign):
    tiered = {
        "id": "tiers",
        "trigger": {"type": "purchase"},
        "actions": [
            {
                "type": "tiered_reward",
                "reward": {"kind": "credit", "value": "1.00"},
                "tiers": [{"from_count": 1, "value": "5.00"}, {"from_count": 2, "value": "15.00"}],
            }
        ],
    }
    for n in range(3):
        _, coupon = share_and_claim(api, friend=f"friend{n}@example.org")
        purchase(api, order=f"ORDER-{n}", email=f"friend{n}@example.org", coupon=coupon)
    campaign_row = Campaign.objects.get(slug="spring")
    current = CampaignDefinition.model_validate(campaign_row.definition)

    report = backtest(campaign=campaign_row, proposed=proposed_definition(current, [tiered]))

    values = [d.proposed.value for d in report.differences if d.change == "only_proposed"]
    assert values == [Decimal("5.00"), Decimal("15.00"), Decimal("15.00")]


def test_the_command_prints_the_differences_and_the_summary(history, tmp_path):
    _, small, _ = history
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [STRICT_BONUS]}))
    out = StringIO()

    call_command("rules", "backtest", "spring", "--rules", str(path), stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0] == "Campaign 'spring': 2 referrals replayed."
    assert lines[1].startswith(f"referral #{small['id']} stephanie@ganleywestside.com → levi@yahoo.com")
    assert lines[2].startswith("  advocate reward rule:bonus/0/e")
    assert (
        "different; rule 'bonus' (condition: none): 10.00 USD credit given → 10.00 USD credit blocked"
        in (lines[2])
    )
    assert "(Friend didn't meet minimum purchase requirement)" in lines[2]
    assert "current rules: 4 rewards (4 given), value 60.00" in lines
    assert "proposed rules: 4 rewards (1 blocked, 3 given), value 50.00" in lines
    assert "difference: +0 rewards, value -10.00" in lines


def test_the_command_refuses_invalid_rules_with_the_pydantic_messages(history, tmp_path):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps([{**BONUS, "trigger": {"type": "sale"}}]))

    with pytest.raises(CommandError, match=r"rules\.0\.trigger: Input tag 'sale'"):
        call_command("rules", "backtest", "spring", "--rules", str(path), stdout=StringIO())
    path.write_text("[{")
    with pytest.raises(CommandError, match="is not JSON: line 1"):
        call_command("rules", "backtest", "spring", "--rules", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match="No campaign 'autumn'"):
        call_command("rules", "backtest", "autumn", "--rules", str(path), stdout=StringIO())


def test_a_write_during_the_replay_is_rolled_back(history, monkeypatch):
    """The second guarantee: even a write slipped into the replay does not survive it."""
    from vouch.rules import backtest as module
    from vouch.sites.models import Site

    campaign, *_ = history
    replay_for_real = module._backtest

    def writing(**kwargs):
        Site.objects.create(slug="written-by-a-replay", name="oops")
        return replay_for_real(**kwargs)

    monkeypatch.setattr(module, "_backtest", writing)
    current = CampaignDefinition.model_validate(campaign.definition)

    report = backtest(campaign=campaign, proposed=proposed_definition(current, [BONUS]))

    assert report.referrals == 2
    assert not Site.objects.filter(slug="written-by-a-replay").exists()


@pytest.mark.parametrize("reward_status", ["pending", "qualified", "approved"])
def test_a_sales_campaign_replays_its_rewards_on_the_status_it_chooses(api, site, reward_status):
    from tests.e2e.test_preset_journeys import preset, referral_of, set_status, share, visit_and_claim

    preset(api, site, "sales", sales={"reward_status": reward_status})
    visit_and_claim(share(api))
    referral = set_status(api, referral_of(api)["id"], "qualified", "met sales").json()
    assert referral["rewards"][0]["status"] == ("pending" if reward_status == "approved" else "given")
    campaign = Campaign.objects.get(slug=referral["campaign"])
    current = CampaignDefinition.model_validate(campaign.definition)

    report = backtest(campaign=campaign, proposed=proposed_definition(current, []))

    assert report.differences == []
    assert report.current == report.proposed
    assert report.current.by_status == {referral["rewards"][0]["status"]: len(referral["rewards"])}
