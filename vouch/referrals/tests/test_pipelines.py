"""The purchase-with-fraud-review pipeline, in the seed's words (Talkable)."""

import pytest

from vouch.pipelines import API, ENGINE, IMPORT, PURCHASE_WITH_FRAUD_REVIEW, STAFF, allowed_targets, decide

P = PURCHASE_WITH_FRAUD_REVIEW


def allowed(current, target, actor=STAFF):
    return decide(P, current=current, target=target, actor=actor)


@pytest.mark.parametrize("target", ["pending", "flagged", "blocked"])
def test_fraud_checks_move_an_in_progress_referral(target):
    assert allowed("in_progress", target, ENGINE).allowed


def test_pending_referral_is_approved_automatically_by_the_engine():
    assert allowed("pending", "approved", ENGINE).allowed


@pytest.mark.parametrize("actor", [STAFF, API, IMPORT])
def test_flagged_referral_can_be_approved_by_a_person(actor):
    assert allowed("flagged", "approved", actor).allowed


def test_flagged_referral_is_never_approved_by_the_engine():
    decision = allowed("flagged", "approved", ENGINE)
    assert not decision.allowed
    assert "the referral engine cannot" in decision.rule


@pytest.mark.parametrize("current", ["pending", "flagged"])
def test_only_pending_and_flagged_referrals_can_be_voided(current):
    assert allowed(current, "voided").allowed


@pytest.mark.parametrize("current", ["blocked", "in_progress"])
def test_voiding_any_other_referral_is_refused_with_the_rule(current):
    decision = allowed(current, "voided")
    assert not decision.allowed
    assert decision.rule == "Only pending and flagged referrals can be voided."


def test_the_engine_cannot_void_a_referral():
    assert not allowed("pending", "voided", ENGINE).allowed


def test_blocked_referral_can_be_unblocked_by_staff():
    assert allowed("blocked", "unblocked").allowed


def test_blocked_referral_cannot_be_approved_it_is_unblocked_instead():
    decision = allowed("blocked", "approved")
    assert not decision.allowed
    assert "unblocked instead" in decision.rule


def test_pending_referral_can_be_flagged_for_review():
    assert allowed("pending", "flagged").allowed


@pytest.mark.parametrize("final", ["approved", "voided", "unblocked"])
def test_final_statuses_allow_no_change(final):
    decision = allowed(final, "pending")
    assert not decision.allowed
    assert "is final" in decision.rule


def test_an_unknown_status_is_refused_naming_the_pipeline_statuses():
    decision = allowed("pending", "qualified")
    assert not decision.allowed
    assert "purchase with fraud review" in decision.rule
    assert "flagged" in decision.rule


def test_release_hold_block_and_void_effects_on_rewards():
    assert [
        P.reward_effect(s) for s in ("approved", "unblocked", "pending", "flagged", "voided", "blocked")
    ] == ["release", "release", "hold", "hold", "void", "block"]


def test_staff_see_only_the_transitions_the_pipeline_allows():
    assert allowed_targets(P, current="pending", actor=STAFF) == ["approved", "voided", "flagged"]
    assert allowed_targets(P, current="flagged", actor=STAFF) == ["approved", "voided"]
    assert allowed_targets(P, current="blocked", actor=STAFF) == ["unblocked"]
    assert allowed_targets(P, current="approved", actor=STAFF) == []


def test_every_transition_names_known_statuses():
    for t in P.transitions:
        assert t.source in P.states and t.target in P.states
    for t in P.timed:
        assert t.source in P.states and t.target in P.states


def test_every_pipeline_speaks_only_api_statuses():
    from vouch.pipelines import PIPELINES, STATUSES

    for pipeline in PIPELINES.values():
        assert set(pipeline.states) <= set(STATUSES), pipeline.name
