"""Whether an import's change can be reversed: a pure function of the pipeline and where the
referral is now."""

from vouch.pipelines import pipeline_named
from vouch.referrals.import_undo import LastStep, undo_refusal
from vouch.referrals.models import ImportChange

PIPELINE = pipeline_named("purchase_with_fraud_review")
LABEL = "CSV import abc123"


def change(source: str, target: str) -> ImportChange:
    return ImportChange(line=2, from_status=source, to_status=target)


def test_a_final_status_cannot_be_reversed_and_the_rule_says_so():
    refusal = undo_refusal(
        pipeline=PIPELINE, change=change("pending", "approved"), now=LastStep("approved", LABEL), label=LABEL
    )

    assert refusal == "Approved is final: no change can be made to the status after that."


def test_a_referral_moved_since_the_import_cannot_be_reversed():
    for now in (LastStep("voided", LABEL), LastStep("flagged", "staff: ann")):
        refusal = undo_refusal(pipeline=PIPELINE, change=change("pending", "flagged"), now=now, label=LABEL)
        assert refusal == f"The referral has changed since the import (it is now {now.status})."


def test_a_transition_the_import_may_not_take_back_is_refused_with_its_rule():
    refusal = undo_refusal(
        pipeline=PIPELINE, change=change("pending", "flagged"), now=LastStep("flagged", LABEL), label=LABEL
    )

    assert refusal == "Only the referral engine sets a referral pending, when its fraud checks pass."
