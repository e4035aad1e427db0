"""The first purchase discount, account activation, basic and sales presets, in their seeds'
words, without a database."""

from datetime import date, datetime, timedelta

import pytest

from vouch.pipelines import (
    ACCOUNT_ACTIVATION,
    API,
    BASIC,
    ENGINE,
    FIRST_PURCHASE_DISCOUNT,
    IMPORT,
    PIPELINES,
    RULE,
    SALES,
    STAFF,
    activation_unmet,
    allowed_targets,
    decide,
    timed_step_sentence,
)

FPD, AA = FIRST_PURCHASE_DISCOUNT, ACCOUNT_ACTIVATION
OFFER_PRESETS = [FPD, AA, BASIC]


def allowed(pipeline, current, target, actor=STAFF, history=()):
    return decide(pipeline, current=current, target=target, actor=actor, history=history)


def test_every_preset_of_design_md_exists():
    assert list(PIPELINES) == [
        "purchase_with_fraud_review",
        "first_purchase_discount",
        "account_activation",
        "basic",
        "sales",
    ]


@pytest.mark.parametrize("pipeline", [FPD, AA, BASIC, SALES], ids=lambda p: p.name)
def test_every_transition_and_timer_names_statuses_of_its_preset(pipeline):
    for t in (*pipeline.transitions, *pipeline.timed):
        assert t.source in pipeline.states and t.target in pipeline.states
    for outcomes in (pipeline.claim, pipeline.after_fraud_review):
        assert set(outcomes.values()) <= set(pipeline.states)
    assert pipeline.initial in pipeline.states
    assert pipeline.final <= set(pipeline.states)


# Offer unclaimed, the first status of three presets


@pytest.mark.parametrize("pipeline", OFFER_PRESETS, ids=lambda p: p.name)
def test_offer_unclaimed_is_where_a_referral_starts(pipeline):
    assert pipeline.initial == "offer_unclaimed"
    assert pipeline.states["offer_unclaimed"] == "Offer unclaimed"
    assert pipeline.opens_at_share and pipeline.opens_at_claim


@pytest.mark.parametrize("pipeline", OFFER_PRESETS, ids=lambda p: p.name)
def test_an_unclaimed_offer_expires(pipeline):
    [timer] = pipeline.timed_from("offer_unclaimed")
    assert (timer.target, timer.delay) == ("expired", "offer_expiry")
    assert allowed(pipeline, "offer_unclaimed", "expired", ENGINE).allowed


@pytest.mark.parametrize("pipeline", OFFER_PRESETS, ids=lambda p: p.name)
def test_no_referral_returns_to_offer_unclaimed(pipeline):
    next_step = pipeline.claim["pass"]
    decision = allowed(pipeline, next_step, "offer_unclaimed")
    assert not decision.allowed
    assert decision.rule == "Offer unclaimed is the first step; a referral cannot return to it."


@pytest.mark.parametrize("pipeline", OFFER_PRESETS, ids=lambda p: p.name)
@pytest.mark.parametrize("final", ["approved", "denied", "expired"])
def test_approved_denied_and_expired_are_final(pipeline, final):
    decision = allowed(pipeline, final, pipeline.claim["pass"])
    assert not decision.allowed
    assert decision.rule.endswith("is final: no change can be made to the status after that.")


@pytest.mark.parametrize("pipeline", OFFER_PRESETS, ids=lambda p: p.name)
def test_approved_releases_rewards_denied_and_expired_void_them(pipeline):
    assert [pipeline.reward_effect(s) for s in ("approved", "denied", "expired")] == [
        "release",
        "void",
        "void",
    ]
    waiting = [s for s in pipeline.states if s not in pipeline.final]
    assert {pipeline.reward_effect(s) for s in waiting} == {"hold"}


# First purchase discount


def test_purchase_required_when_the_friend_claims():
    assert FPD.claim == {"pass": "purchase_required", "flag": "purchase_required", "block": "pending_denial"}
    assert allowed(FPD, "offer_unclaimed", "purchase_required", ENGINE).allowed


def test_approved_once_the_order_is_invoiced():
    assert FPD.conversion.event == "purchase"
    assert FPD.conversion.source == "purchase_required"
    assert FPD.conversion.outcomes["pass"] == "approved"
    assert allowed(FPD, "purchase_required", "approved", ENGINE).allowed


def test_a_self_referred_purchase_goes_pending_denial():
    assert FPD.conversion.outcomes["block"] == "pending_denial"


def test_an_unused_offer_expires_while_purchase_required():
    [timer] = FPD.timed_from("purchase_required")
    assert (timer.target, timer.delay) == ("expired", "offer_expiry")


@pytest.mark.parametrize("pipeline", [FPD, AA], ids=lambda p: p.name)
def test_pending_denial_is_denied_after_the_campaigns_x_days(pipeline):
    [timer] = pipeline.timed_from("pending_denial")
    assert (timer.target, timer.delay) == ("denied", "pending_denial_days")
    assert pipeline.states["pending_denial"] == "Pending denial"


def test_staff_may_adjust_a_referral_pending_denial():
    assert allowed_targets(FPD, current="pending_denial", actor=STAFF) == [
        "approved",
        "purchase_required",
        "denied",
    ]


def test_the_engine_never_approves_a_referral_pending_denial():
    decision = allowed(FPD, "pending_denial", "approved", ENGINE)
    assert not decision.allowed
    assert "the referral engine cannot" in decision.rule


def test_offer_unclaimed_cannot_be_approved_before_the_purchase():
    decision = allowed(FPD, "offer_unclaimed", "approved")
    assert not decision.allowed
    assert decision.rule == (
        "Only a referral whose purchase is required, or one pending denial, can be approved."
    )


def test_a_refund_rule_reverts_an_approved_first_purchase_to_denied():
    assert FPD.revert_to == "denied"
    assert allowed(FPD, "approved", "denied", RULE).allowed
    assert not allowed(FPD, "approved", "denied", STAFF).allowed


# Account activation


def test_account_identifier_required_when_the_friend_claims():
    assert AA.claim["pass"] == "account_identifier_required"
    assert AA.claim["block"] == "pending_denial"


def test_account_validation_required_once_the_account_is_reported():
    assert (AA.conversion.event, AA.conversion.source) == ("signup", "account_identifier_required")
    assert AA.conversion.outcomes["pass"] == "account_validation_required"
    for actor in (ENGINE, STAFF, API, IMPORT):
        assert allowed(AA, "account_identifier_required", "account_validation_required", actor).allowed


@pytest.mark.parametrize("actor", [STAFF, API, IMPORT])
def test_approved_when_you_validate_the_account(actor):
    assert allowed(AA, "account_validation_required", "approved", actor).allowed


def test_the_engine_never_validates_an_account():
    assert not allowed(AA, "account_validation_required", "approved", ENGINE).allowed


def test_an_account_is_validated_before_it_is_approved():
    decision = allowed(AA, "account_identifier_required", "approved")
    assert not decision.allowed
    assert "its account must be validated first" in decision.rule


def test_an_unreported_account_expires_with_the_offer():
    [timer] = AA.timed_from("account_identifier_required")
    assert timer.target == "expired"


# Basic


def test_verification_required_when_the_friend_claims():
    assert BASIC.claim["pass"] == "verification_required"
    assert BASIC.conversion is None


@pytest.mark.parametrize("target", ["approved", "denied"])
def test_staff_verify_or_deny(target):
    assert allowed(BASIC, "verification_required", target).allowed
    assert not allowed(BASIC, "verification_required", target, ENGINE).allowed


def test_a_self_referral_is_denied_in_basic():
    assert BASIC.claim["block"] == "denied"


def test_verification_required_does_not_expire():
    assert BASIC.timed_from("verification_required") == ()


# Sales (Referral Rock)


def test_all_referrals_enter_as_pending():
    assert SALES.initial == "pending"
    assert list(SALES.states) == ["pending", "qualified", "approved", "denied"]


@pytest.mark.parametrize(("current", "target"), [("denied", "pending"), ("pending", "denied")])
def test_a_status_can_change_back_and_forth_between_denied_and_pending(current, target):
    assert allowed(SALES, current, target).allowed


def test_qualified_from_denied_if_never_qualified_before():
    assert allowed(SALES, "denied", "qualified", history=["pending", "denied"]).allowed


def test_qualified_from_denied_is_refused_if_it_was_qualified_before():
    decision = allowed(SALES, "denied", "qualified", history=["pending", "qualified", "denied"])
    assert not decision.allowed
    assert decision.rule == (
        "A referral can only be changed to qualified from denied if it has never been qualified before; "
        "this one was."
    )


@pytest.mark.parametrize("target", ["pending", "qualified", "denied"])
@pytest.mark.parametrize("actor", [STAFF, API, IMPORT, RULE])
def test_after_approved_no_changes_can_be_made_to_the_status(target, actor):
    decision = allowed(SALES, "approved", target, actor)
    assert not decision.allowed
    assert decision.rule == "Approved is final: no change can be made to the status after that."


def test_a_denied_referral_is_not_approved_directly():
    decision = allowed(SALES, "denied", "approved")
    assert not decision.allowed
    assert "goes back to pending" in decision.rule


@pytest.mark.parametrize("current", ["pending", "qualified"])
def test_pending_and_qualified_can_be_approved(current):
    assert allowed(SALES, current, "approved").allowed


def test_statuses_of_other_presets_are_refused_naming_the_sales_statuses():
    decision = allowed(SALES, "pending", "voided")
    assert not decision.allowed
    assert decision.rule == (
        "'voided' is not a status of the sales pipeline (it has: pending, qualified, approved, denied)."
    )


@pytest.mark.parametrize(
    ("release_on", "effects"),
    [
        ("pending", ["release", "release", "release", "block"]),
        ("qualified", ["hold", "release", "release", "block"]),
        ("approved", ["hold", "hold", "release", "block"]),
    ],
)
def test_rewards_trigger_on_the_chosen_status_never_on_denied(release_on, effects):
    statuses = ["pending", "qualified", "approved", "denied"]
    assert [SALES.reward_effect(s, release_on) for s in statuses] == effects


def test_a_self_referral_enters_pending_and_is_denied():
    assert SALES.after_fraud_review == {"pass": "pending", "flag": "pending", "block": "denied"}


def test_the_timer_sentence_names_the_status_and_the_day():
    assert (
        timed_step_sentence(FPD, target="denied", due=date(2026, 12, 1))
        == "Will be denied on 2026-12-01 unless someone changes it."
    )


def test_account_validation_waits_until_the_account_is_open_x_days():
    opened = datetime(2026, 11, 1, 12, 0)
    unmet = activation_unmet(
        wait_days=14, transactions=0, opened_at=opened, now=opened + timedelta(days=13), made=0
    )
    assert unmet == "The account must be open 14 days (until 2026-11-15)."
    ready = activation_unmet(
        wait_days=14, transactions=0, opened_at=opened, now=opened + timedelta(days=14), made=0
    )
    assert ready is None


def test_account_validation_waits_for_x_transactions():
    opened = datetime(2026, 11, 1)
    assert (
        activation_unmet(wait_days=0, transactions=3, opened_at=opened, now=opened, made=2)
        == "The friend has made 2 of the 3 transactions required."
    )
    assert activation_unmet(wait_days=0, transactions=3, opened_at=opened, now=opened, made=3) is None


@pytest.mark.parametrize(
    ("pipeline", "trigger"),
    [
        ("purchase_with_fraud_review", ("referral_started", None)),
        ("first_purchase_discount", ("status", "approved")),
        ("account_activation", ("status", "account_validation_required")),
        ("basic", ("status", "approved")),
        ("sales", ("referral_started", None)),
    ],
)
def test_incentives_wait_for_the_conversion_where_a_share_opens_the_referral(pipeline, trigger):
    from vouch.campaigns.definition import CampaignDefinition

    definition = CampaignDefinition.model_validate(
        {
            "slug": "spring",
            "name": "Spring",
            "pipeline": pipeline,
            "incentives": {"advocate": {"kind": "credit", "value": "10.00"}},
        }
    )
    [incentive] = definition.all_rules()
    assert (incentive.trigger.type, getattr(incentive.trigger, "status", None)) == trigger


def test_a_sales_rule_rewarding_on_denied_is_refused():
    from pydantic import ValidationError

    from vouch.campaigns.definition import CampaignDefinition

    rule = {
        "id": "on-denied",
        "trigger": {"type": "status", "status": "denied"},
        "actions": [{"type": "reward", "reward": {"kind": "credit", "value": "5.00"}}],
    }
    with pytest.raises(ValidationError, match="rewards never trigger on denied in the sales pipeline"):
        CampaignDefinition.model_validate({"slug": "s", "name": "S", "pipeline": "sales", "rules": [rule]})
