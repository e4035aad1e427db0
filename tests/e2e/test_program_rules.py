"""Program rules through the API, in the seeds' own examples (impact.com's rules and
actions, Talkable's incentive criteria): every reward a campaign gives is decided by
its rules, and every reward not given says why."""

import pytest

from conftest import CAMPAIGN, stock
from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch.emails.models import Email
from vouch.referrals.models import Referral
from vouch.rewards.models import Reward
from vouch.rules.facts import Facts
from vouch.rules.models import Decision

STEPHANIE = "stephanie@ganleywestside.com"


def make_campaign(api, site, **changes):
    body = {**CAMPAIGN, **changes}
    response = api.post("/campaigns", body)
    assert response.status_code == 201, response.content
    stock(site, "friend-codes", [f"FRIEND{i:03}" for i in range(40)])
    stock(site, "advocate-codes", [f"ADV{i:03}" for i in range(40)])
    stock(site, "gift-cards", [f"GIFT{i:03}" for i in range(10)])
    return response.json()


def refer_and_buy(api, *, friend: str, order: str, subtotal: str = "49.90"):
    _, coupon = share_and_claim(api, friend=friend)
    response = purchase(api, order=order, email=friend, coupon=coupon, subtotal=subtotal)
    assert response.status_code == 201, response.content
    return response.json()["referral"]


def rewards_of(referral_id: int) -> list[Reward]:
    return list(Reward.objects.filter(referral_id=referral_id).order_by("id"))


def test_advocate_reward_is_blocked_when_the_friends_subtotal_is_under_the_minimum_but_not_the_friends(
    api, site
):
    make_campaign(
        api,
        site,
        incentives={
            "advocate": {
                "kind": "coupon",
                "coupon_list": "advocate-codes",
                "value": "20.00",
                "criteria": [{"check": "minimum_purchase", "amount": "20.00"}],
            },
            "friend": {"kind": "credit", "value": "5.00"},
        },
    )

    referral = refer_and_buy(api, friend="levi@yahoo.com", order="SMALL-1", subtotal="15.00")

    advocate, friend = sorted(referral["rewards"], key=lambda r: r["role"])
    assert advocate["status"] == "blocked"
    assert advocate["reason"] == "Friend didn't meet minimum purchase requirement"
    assert advocate["reason_code"] == "criterion_failed"
    assert advocate["code"] is None
    assert friend["status"] == "given"
    details = api.get(f"/referrals/{referral['id']}").json()
    [decision] = [d for d in details["decisions"] if d["rule"] == "incentive"]
    by_target = {a["target"]: a for a in decision["actions"]}
    assert by_target["advocate"]["criteria"] == [
        {"label": "Friend didn't meet minimum purchase requirement", "held": False, "error": None}
    ]
    assert decision["inputs"]["referral"]["subtotal"] == 15.0


def test_advocate_reward_is_blocked_when_the_advocate_has_reached_maximum_rewards(api, site):
    make_campaign(api, site, limits={"advocate_rewards_lifetime": 1})

    first = refer_and_buy(api, friend="levi@yahoo.com", order="A-1")
    second = refer_and_buy(api, friend="maya@example.com", order="A-2")

    assert first["rewards"][0]["status"] == "given"
    [blocked] = second["rewards"]
    assert blocked["status"] == "blocked"
    assert blocked["reason"] == "Advocate has reached maximum rewards (1 in total)."
    assert blocked["reason_code"] == "advocate_limit_reached"


def test_friend_reward_on_a_purchase_of_at_least_100(api, site):
    make_campaign(
        api,
        site,
        rules=[
            {
                "id": "big-purchase",
                "trigger": {"type": "purchase"},
                "condition": "event.subtotal >= 100.0",
                "actions": [
                    {"type": "reward", "target": "friend", "reward": {"kind": "credit", "value": "10.00"}}
                ],
            }
        ],
    )

    small = refer_and_buy(api, friend="levi@yahoo.com", order="B-1", subtotal="80.00")
    big = refer_and_buy(api, friend="maya@example.com", order="B-2", subtotal="120.00")

    assert [r.role for r in rewards_of(small["id"])] == ["advocate"]
    friend_reward = [r for r in rewards_of(big["id"]) if r.role == "friend"]
    assert [(r.kind, str(r.value), r.status) for r in friend_reward] == [("credit", "10.00", "given")]
    not_met = api.get(f"/referrals/{small['id']}").json()["decisions"]
    assert [(d["rule"], d["condition_met"]) for d in not_met if d["rule"] == "big-purchase"] == [
        ("big-purchase", False)
    ]


def test_a_20_dollar_gift_card_for_every_5_qualified_referrals(api, site):
    make_campaign(
        api,
        site,
        incentives={},
        rules=[
            {
                "id": "every-5",
                "name": "$20 gift card for every 5 qualified leads",
                "trigger": {"type": "status", "status": "approved"},
                "actions": [
                    {
                        "type": "every_n_reward",
                        "every": 5,
                        "reward": {"kind": "gift_card", "coupon_list": "gift-cards", "value": "20.00"},
                    }
                ],
            }
        ],
    )

    referrals = [refer_and_buy(api, friend=f"friend{i}@example.com", order=f"Q-{i}") for i in range(1, 11)]

    given = Reward.objects.filter(person__email=STEPHANIE, status="given").order_by("id")
    assert [(r.referral_id, r.kind, str(r.value), r.code) for r in given] == [
        (referrals[4]["id"], "gift_card", "20.00", "GIFT000"),
        (referrals[9]["id"], "gift_card", "20.00", "GIFT001"),
    ]
    third = api.get(f"/referrals/{referrals[2]['id']}").json()["decisions"]
    [skipped] = [a for d in third for a in d["actions"]]
    assert skipped["outcome"] == "skipped"
    assert skipped["reason"] == "Rewards every 5 times the rule fires; this is time 3."


def test_tiered_reward_pays_10_for_the_first_four_referrals_and_20_from_the_fifth(api, site):
    make_campaign(
        api,
        site,
        incentives={},
        rules=[
            {
                "id": "tiers",
                "trigger": {"type": "status", "status": "approved"},
                "actions": [
                    {
                        "type": "tiered_reward",
                        "reward": {"kind": "credit", "value": "10.00"},
                        "tiers": [{"from_count": 1, "value": "10.00"}, {"from_count": 5, "value": "20.00"}],
                    }
                ],
            }
        ],
    )

    for i in range(1, 7):
        refer_and_buy(api, friend=f"friend{i}@example.com", order=f"T-{i}")

    values = Reward.objects.filter(person__email=STEPHANIE).order_by("id").values_list("value", flat=True)
    assert [str(v) for v in values] == ["10.00", "10.00", "10.00", "10.00", "20.00", "20.00"]


def test_friend_credit_on_signup_and_advocate_credit_when_the_lead_is_closed_won(api, site):
    make_campaign(
        api,
        site,
        incentives={},
        rules=[
            {
                "id": "signup-credit",
                "trigger": {"type": "custom", "action": "signup"},
                "actions": [
                    {"type": "reward", "target": "friend", "reward": {"kind": "credit", "value": "100.00"}}
                ],
            },
            {
                "id": "closed-won",
                "trigger": {"type": "person_changed", "field": "opportunity_stage"},
                "condition": 'friend.fields.opportunity_stage == "Closed Won"',
                "actions": [
                    {"type": "reward", "target": "advocate", "reward": {"kind": "credit", "value": "500.00"}}
                ],
            },
        ],
    )
    lead = api.post(
        "/referrals",
        {
            "campaign": "spring",
            "advocate_email": STEPHANIE,
            "friend_email": "levi@yahoo.com",
            "subtotal": "0.00",
        },
    )
    assert lead.status_code == 201, lead.content
    referral_id = lead.json()["id"]

    signup = api.post("/events", {"type": "signup", "id": "SIGNUP-1", "email": "levi@yahoo.com"})
    assert signup.status_code == 201, signup.content
    api.post(
        "/events",
        {
            "type": "custom",
            "id": "CRM-1",
            "name": "crm_update",
            "email": "levi@yahoo.com",
            "person_fields": {"opportunity_stage": "Qualified"},
        },
    )
    won = api.post(
        "/events",
        {
            "type": "custom",
            "id": "CRM-2",
            "name": "crm_update",
            "email": "levi@yahoo.com",
            "person_fields": {"opportunity_stage": "Closed Won"},
        },
    )
    assert won.status_code == 201, won.content

    rewards = [(r.role, r.kind, str(r.value), r.status) for r in rewards_of(referral_id)]
    assert rewards == [("friend", "credit", "100.00", "given"), ("advocate", "credit", "500.00", "given")]
    trace = api.get(f"/referrals/{referral_id}").json()["decisions"]
    assert [(d["rule"], d["event"], d["condition_met"]) for d in trace] == [
        ("signup-credit", "SIGNUP-1", True),
        ("closed-won", "CRM-1", False),
        ("closed-won", "CRM-2", True),
    ]


def test_email_only_when_the_friend_completes_a_demo(api, site):
    make_campaign(
        api,
        site,
        incentives={},
        rules=[
            {
                "id": "demo-done",
                "trigger": {"type": "custom", "action": "demo_completed"},
                "actions": [{"type": "email", "target": "advocate", "template": "advocate_referral_made"}],
            }
        ],
    )
    referral = refer_and_buy(api, friend="levi@yahoo.com", order="D-1")

    response = api.post(
        "/events", {"type": "custom", "id": "DEMO-1", "name": "demo_completed", "email": "levi@yahoo.com"}
    )

    assert response.status_code == 201, response.content
    assert Reward.objects.filter(referral_id=referral["id"]).count() == 0
    [email] = Email.objects.filter(referral_id=referral["id"], type="advocate_referral_made")
    assert email.to == STEPHANIE


def test_a_full_refund_reverts_the_referral_and_cancels_its_unused_rewards(api, site):
    make_campaign(api, site, incentives={"friend": {"kind": "credit", "value": "5.00"}})
    stock(site, "advocate-codes", ["UNUSED1"])
    referral = refer_and_buy(api, friend="levi@yahoo.com", order="R-1", subtotal="60.00")
    assert {r["status"] for r in referral["rewards"]} == {"given"}

    refund = api.post("/events", {"type": "refund", "id": "REFUND-1", "order_id": "R-1", "subtotal": "60.00"})

    assert refund.status_code == 201, refund.content
    reverted = Referral.objects.get(pk=referral["id"])
    assert reverted.status == "voided"
    assert reverted.history.last().actor == "rule"
    assert reverted.history.last().reason == "The friend refunded the purchase R-1."
    # a given credit stays given (no usage is known); nothing else was open
    assert [(r.role, r.status) for r in rewards_of(referral["id"])] == [("friend", "given")]


def test_a_partial_refund_under_the_minimum_reverts_the_referral_with_the_criterion(api, site):
    make_campaign(
        api,
        site,
        delays={"auto_approval_hours": 48},
        incentives={
            "advocate": {
                "kind": "coupon",
                "coupon_list": "advocate-codes",
                "value": "20.00",
                "criteria": [{"check": "minimum_purchase", "amount": "50.00"}],
            }
        },
    )
    referral = refer_and_buy(api, friend="levi@yahoo.com", order="P-1", subtotal="80.00")
    assert referral["status"] == "pending"

    api.post("/events", {"type": "refund", "id": "PR-1", "order_id": "P-1", "subtotal": "20.00"})
    assert Referral.objects.get(pk=referral["id"]).status == "pending"

    api.post("/events", {"type": "refund", "id": "PR-2", "order_id": "P-1", "subtotal": "20.00"})

    reverted = Referral.objects.get(pk=referral["id"])
    assert reverted.status == "voided"
    assert reverted.refunded == 40
    [reward] = rewards_of(referral["id"])
    assert reward.status == "voided"
    assert (
        reward.reason
        == "Referral was voided: Friend didn't meet minimum purchase requirement after a partial refund."
    )


def test_campaign_budget_blocks_the_reward_that_would_pass_it(api, site):
    make_campaign(api, site, limits={"budget": "30.00"})

    first = refer_and_buy(api, friend="levi@yahoo.com", order="BU-1")
    second = refer_and_buy(api, friend="maya@example.com", order="BU-2")

    assert first["rewards"][0]["status"] == "given"
    assert second["rewards"][0]["reason_code"] == "budget_spent"
    assert second["rewards"][0]["reason"].startswith("The campaign's budget is spent (20.00 of 30.00 used")


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("event.subtotal >= ", "line 1, column 19"),
        ("order.total > 5.0", "unknown variable 'order'"),
    ],
)
def test_saving_a_rule_with_a_bad_condition_is_refused_with_where_and_why(api, site, condition, message):
    body = {
        **CAMPAIGN,
        "rules": [
            {
                "id": "r",
                "trigger": {"type": "purchase"},
                "condition": condition,
                "actions": [{"type": "revert_referral"}],
            }
        ],
    }

    response = api.post("/campaigns", body)

    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "rules.0.condition"
    assert message in detail["message"]


def test_a_condition_that_fails_at_run_time_is_recorded_as_not_met(api, site):
    make_campaign(
        api,
        site,
        rules=[
            {
                "id": "typo",
                "trigger": {"type": "purchase"},
                "condition": "event.fields.plan == 'gold'",
                "actions": [
                    {"type": "reward", "target": "friend", "reward": {"kind": "points", "value": "100"}}
                ],
            }
        ],
    )

    referral = refer_and_buy(api, friend="levi@yahoo.com", order="E-1")

    [decision] = [
        d for d in api.get(f"/referrals/{referral['id']}").json()["decisions"] if d["rule"] == "typo"
    ]
    assert decision["condition_met"] is False
    assert "plan" in decision["error"]


def test_a_rule_reward_given_as_it_is_created_keeps_its_whole_history(api, site):
    make_campaign(
        api,
        site,
        incentives={},
        rules=[
            {
                "id": "approved-credit",
                "trigger": {"type": "status", "status": "approved"},
                "actions": [{"type": "reward", "reward": {"kind": "credit", "value": "10.00"}}],
            }
        ],
    )

    referral = refer_and_buy(api, friend="levi@yahoo.com", order="H-1")

    [reward] = rewards_of(referral["id"])
    assert reward.status == "given" and reward.given_at is not None
    history = list(reward.history.order_by("id").values_list("from_status", "to_status"))
    assert history == [("", "pending"), ("pending", "given")]
    assert Email.objects.filter(person__email=STEPHANIE, type="advocate_reward_paid").count() == 1


def test_rule_firings_count_this_transactions_decisions_not_written_yet(api, site):
    make_campaign(api, site)
    made = refer_and_buy(api, friend="levi@yahoo.com", order="F-1")
    referral = Referral.objects.select_related("campaign").get(pk=made["id"])
    written = Facts(referral=referral).fired("incentive")
    unwritten = [
        Decision(
            site_id=site.pk,
            referral=referral,
            advocate_id=referral.advocate_id,
            rule_id="incentive",
            condition_met=True,
        )
    ]

    assert written == 1
    assert Facts(referral=referral, unwritten=unwritten).fired("incentive") == 2


def test_a_count_read_after_an_earlier_rule_of_the_same_trigger_acted_includes_what_it_gave(api, site):
    # The first rule's facts are read together with the counts the second names, in one
    # statement; the first rule then gives a reward, so the second reads its count again.
    make_campaign(
        api,
        site,
        rules=[
            {
                "id": "new-customer-credit",
                "trigger": {"type": "status", "status": "approved"},
                "condition": "friend.is_new_customer",
                "actions": [{"type": "reward", "reward": {"kind": "credit", "value": "10.00"}}],
            },
            {
                "id": "second-reward-bonus",
                "trigger": {"type": "status", "status": "approved"},
                "condition": "counts.rewards_given_total >= 2",
                "actions": [{"type": "reward", "reward": {"kind": "points", "value": "50"}}],
            },
        ],
    )

    referral = refer_and_buy(api, friend="levi@yahoo.com", order="C-1")

    decisions = {d.rule_id: d for d in Decision.objects.filter(referral_id=referral["id"])}
    assert decisions["new-customer-credit"].inputs["friend"]["order_count"] == 1
    assert decisions["second-reward-bonus"].inputs["counts"] == {"rewards_given_total": 2}
    assert decisions["second-reward-bonus"].condition_met is True
    assert sorted(r.source for r in rewards_of(referral["id"]) if r.status == "given") == [
        "incentive",
        "rule:new-customer-credit/0",
        "rule:second-reward-bonus/0",
    ]


def test_a_triggers_facts_are_read_in_one_statement(api, site, django_assert_num_queries):
    from vouch.campaigns.selectors import campaign_definition
    from vouch.events.models import Event
    from vouch.fraud.selectors import blacklist_rules
    from vouch.read_cache import reads_cached
    from vouch.rules.engine import compile_rules

    rules = [
        {
            "id": "everything",
            "trigger": {"type": "status", "status": "approved"},
            "condition": "counts.rule_firings >= 0 && size(counts) > 0 && friend.order_count >= 0",
            "actions": [{"type": "reward", "reward": {"kind": "points", "value": "1"}}],
        },
        {
            "id": "every-second",
            "trigger": {"type": "status", "status": "approved"},
            "actions": [{"type": "every_n_reward", "every": 2, "reward": {"kind": "points", "value": "1"}}],
        },
    ]
    make_campaign(api, site, rules=rules)
    for friend, order in [("levi@yahoo.com", "G-1"), ("levi@yahoo.com", "G-2"), ("maya@example.com", "G-3")]:
        refer_and_buy(api, friend=friend, order=order)
    referrals = Referral.objects.select_related("campaign", "advocate", "friend").order_by("id")
    _, levi_again, maya = referrals
    triggered = compile_rules(campaign_definition(maya.campaign))[1:]
    facts = Facts(referral=maya, rules=triggered)

    with reads_cached():
        blacklist_rules(site_id=site.pk)  # read once per ingest, apart from the facts
        with django_assert_num_queries(1):
            counts = facts.counts(rule_id="everything")
            friend = facts.friend_facts
            position = facts.fired("every-second")

    assert counts == {
        "referrals_total": 3,
        "referrals_approved": 3,
        "referrals_this_year": 3,
        "rewards_given_total": 7,  # three incentive coupons and three points, every second once
        "rewards_given_this_year": 7,
        "rewards_given_30_days": 7,
        "rule_firings": 3,
        "first_time": False,
    }
    assert (friend["order_count"], friend["already_referred"]) == (1, False)
    assert position == 3
    again = Facts(referral=levi_again).friend_facts
    assert (again["order_count"], again["already_referred"]) == (2, True)
    first_purchase = Event.objects.get(external_id="G-1")
    then = Facts(referral=levi_again, event=first_purchase).friend_facts
    assert then["order_count"] == 1
