"""Rule evaluation without a database: conditions, criteria, triggers, tiers and every-N."""

import cel
import pytest
from pydantic import ValidationError

from vouch.campaigns.definition import CampaignDefinition
from vouch.rules.conditions import ConditionError, compile_condition, counts_read, evaluate, reads
from vouch.rules.engine import (
    Happening,
    compile_rules,
    criteria_results,
    every_n_due,
    first_failed,
    rules_triggered,
    tier_value,
)


def definition(**changes) -> CampaignDefinition:
    return CampaignDefinition.model_validate({"slug": "spring", "name": "Spring", **changes})


def test_a_syntax_error_is_refused_with_line_and_column():
    with pytest.raises(ConditionError) as refused:
        compile_condition("event.subtotal >= ")
    assert (refused.value.line, refused.value.column) == (1, 19)


def test_an_unknown_variable_is_refused_when_saved_but_macro_variables_are_allowed():
    with pytest.raises(ConditionError, match="unknown variable 'order'"):
        compile_condition("order.total > 1.0")
    assert reads('friend.segments.exists(s, s == "vip") && counts.first_time') == {"friend", "counts"}


def test_a_runtime_error_or_a_non_boolean_result_is_not_met_with_the_error():
    context = cel.Context({"event": {"subtotal": 10.0, "fields": {}}})
    assert evaluate("event.subtotal >= 5.0", context).met
    missing = evaluate("event.fields.plan == 'gold'", context)
    assert not missing.met and "plan" in missing.error
    number = evaluate("event.subtotal", context)
    assert not number.met and "not true or false" in number.error


def test_the_incentives_run_as_the_built_in_rule_when_a_referral_starts():
    rules = compile_rules(definition(incentives={"advocate": {"kind": "credit", "value": "5.00"}}, rules=[]))
    assert [r.id for r in rules_triggered(rules, Happening(kind="referral_started"))] == ["incentive"]
    assert rules_triggered(rules, Happening(kind="purchase")) == []


def test_triggers_match_their_action_name_status_field_and_count():
    rules = compile_rules(
        definition(
            rules=[
                {
                    "id": "demo",
                    "trigger": {"type": "custom", "action": "demo"},
                    "actions": [{"type": "revert_referral"}],
                },
                {
                    "id": "won",
                    "trigger": {"type": "status", "status": "approved"},
                    "actions": [{"type": "revert_referral"}],
                },
                {
                    "id": "stage",
                    "trigger": {"type": "person_changed", "field": "stage"},
                    "actions": [{"type": "revert_referral"}],
                },
                {
                    "id": "fifth",
                    "trigger": {"type": "advocate_referrals", "count": 5},
                    "actions": [{"type": "revert_referral"}],
                },
            ]
        )
    )

    def ids(happening):
        return [r.id for r in rules_triggered(rules, happening)]

    assert ids(Happening(kind="custom", name="demo")) == ["demo"]
    assert ids(Happening(kind="custom", name="webinar")) == []
    assert ids(Happening(kind="status", status="approved")) == ["won"]
    assert ids(Happening(kind="person_changed", changed_fields=frozenset({"stage"}))) == ["stage"]
    assert ids(Happening(kind="person_changed", changed_fields=frozenset({"plan"}))) == []
    assert ids(Happening(kind="advocate_referrals", advocate_referrals=5)) == ["fifth"]
    assert ids(Happening(kind="advocate_referrals", advocate_referrals=6)) == []


def test_criteria_report_each_label_and_the_first_failure_is_the_reason():
    [rule] = compile_rules(
        definition(
            rules=[
                {
                    "id": "r",
                    "trigger": {"type": "purchase"},
                    "actions": [
                        {
                            "type": "reward",
                            "reward": {"kind": "credit", "value": "5.00"},
                            "criteria": [
                                {"check": "minimum_purchase", "amount": "20.00"},
                                {"check": "new_customer"},
                                {"condition": '"vip" in advocate.segments', "label": "Advocate is not a VIP"},
                            ],
                        }
                    ],
                }
            ]
        )
    )
    context = cel.Context(
        {
            "referral": {"subtotal": 25.0},
            "friend": {"is_new_customer": False},
            "advocate": {"segments": []},
        }
    )
    results = criteria_results(rule.actions[0], context)
    assert [(r.label, r.held) for r in results] == [
        ("Friend didn't meet minimum purchase requirement", True),
        ("Friend is not a new customer", False),
        ("Advocate is not a VIP", False),
    ]
    assert first_failed(results).label == "Friend is not a new customer"


def test_tiers_pick_the_highest_reached_and_every_n_fires_on_multiples():
    tiers = (
        definition(
            rules=[
                {
                    "id": "t",
                    "trigger": {"type": "purchase"},
                    "actions": [
                        {
                            "type": "tiered_reward",
                            "reward": {"kind": "credit", "value": "10.00"},
                            "tiers": [
                                {"from_count": 5, "value": "20.00"},
                                {"from_count": 1, "value": "10.00"},
                            ],
                        }
                    ],
                }
            ]
        )
        .rules[0]
        .actions[0]
        .tiers
    )
    assert [tier_value(tiers, n) for n in (1, 4, 5, 9)] == ["10.00", "10.00", "20.00", "20.00"]
    assert [n for n in range(1, 12) if every_n_due(5, n)] == [5, 10]


def test_a_criterion_needs_its_label_and_a_trigger_its_name():
    with pytest.raises(ValidationError):
        definition(
            rules=[
                {
                    "id": "r",
                    "trigger": {"type": "purchase"},
                    "actions": [{"type": "email", "template": "x", "criteria": [{"condition": "true"}]}],
                }
            ]
        )
    with pytest.raises(ValidationError):
        definition(
            rules=[{"id": "r", "trigger": {"type": "custom"}, "actions": [{"type": "revert_referral"}]}]
        )


@pytest.mark.parametrize(
    "source, fields",
    [
        ("counts.rewards_given_this_year < 20", {"rewards_given_this_year"}),
        ("counts . first_time || counts.referrals_total > 3", {"first_time", "referrals_total"}),
        ("event.subtotal > 10.0", set()),
        ('counts["referrals_total"] > 3', None),
        ("size(counts) > 0 && counts.first_time", None),
    ],
)
def test_a_condition_names_the_counts_it_reads_or_reads_them_all(source, fields):
    assert counts_read(source) == (None if fields is None else frozenset(fields))


def test_a_rule_gathers_the_counts_its_condition_and_criteria_name():
    (rule,) = compile_rules(
        definition(
            rules=[
                {
                    "id": "tiers",
                    "trigger": {"type": "status", "status": "approved"},
                    "condition": "counts.rewards_given_this_year < 20",
                    "actions": [
                        {
                            "type": "reward",
                            "reward": {"kind": "credit", "value": "5.00"},
                            "criteria": [{"condition": "counts.first_time", "label": "Not the first"}],
                        }
                    ],
                }
            ]
        )
    )
    assert rule.counts_fields == {"rewards_given_this_year", "first_time"}
