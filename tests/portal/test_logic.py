"""The portal's pure pieces, without a database."""

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from django.urls import reverse, set_script_prefix

from vouch.portal.charts import BAR_WIDTH, bar_chart
from vouch.portal.forms import code_lines
from vouch.portal.selectors import EMAIL, ORDER_OR_CODE, lookup_kind, reward_sentence
from vouch.portal.templatetags.portal import email_type, href, mask_email
from vouch.referrals.snapshot import CampaignSnapshot, StatusCount
from vouch.rewards.models import Reward
from vouch.rewards.selectors import low_stock


def test_the_search_box_reads_an_at_sign_as_an_email_and_anything_else_as_an_order_or_code():
    assert lookup_kind("stephanie@ganleywestside.com") == EMAIL
    assert lookup_kind("@yahoo.com") == EMAIL
    assert lookup_kind("ORDER-1") == ORDER_OR_CODE
    assert lookup_kind("friend000") == ORDER_OR_CODE


def test_emails_are_masked_to_their_first_letter_and_domain():
    assert mask_email("levi@yahoo.com") == "l***@yahoo.com"
    assert mask_email("x") == "x***"
    assert mask_email("") == ""


def test_email_types_read_as_talkable_names_them():
    assert email_type("advocate_reward_paid") == "Advocate reward paid email"


def test_low_stock_is_fewer_codes_than_the_days_of_average_use():
    assert low_stock(remaining=6, given_last_30_days=30, low_stock_days=7)
    assert not low_stock(remaining=7, given_last_30_days=30, low_stock_days=7)
    assert not low_stock(remaining=0, given_last_30_days=0, low_stock_days=7), "an unused list is not low"


def test_bar_chart_scales_bars_to_the_largest_count_and_keeps_a_sliver_for_small_ones():
    campaign = CampaignSnapshot(
        slug="s",
        name="S",
        pipeline="p",
        pipeline_label="p",
        statuses=[StatusCount("a", "A", 1000), StatusCount("b", "B", 1), StatusCount("c", "C", 0)],
    )
    chart = bar_chart(campaign)
    assert [b.width for b in chart.bars] == [BAR_WIDTH, 1, 0]
    assert chart.bars[1].y > chart.bars[0].y


def test_code_lines_keep_the_line_number_and_the_first_cell():
    assert code_lines('A-1\n\n"B-2",x\nC-3;y\n  \n') == [(1, "A-1"), (3, "B-2"), (4, "C-3")]


def reward(**fields) -> Reward:
    return Reward(**{"status": "pending", "reason": "", "code": "", **fields})


def test_the_decisive_sentence_for_a_reward():
    given = reward(status="given", code="ADV1", given_at=datetime(2015, 4, 17, tzinfo=UTC))
    assert reward_sentence(reward=given, referral_words="Approved", referral_reason="", next_step=None) == (
        "Given on Apr 17, 2015 (code ADV1)."
    )
    blocked = reward(status="blocked", reason="Friend didn't meet minimum purchase requirement")
    assert (
        reward_sentence(reward=blocked, referral_words="Approved", referral_reason="", next_step=None)
        == "Friend didn't meet minimum purchase requirement"
    )
    step = SimpleNamespace(to_status="approved", due_at=datetime(2015, 4, 18, 9, 30, tzinfo=UTC))
    assert reward_sentence(reward=reward(), referral_words="Pending", referral_reason="", next_step=step) == (
        "Pending: the referral is pending and moves to approved on Apr 18, 2015 09:30 UTC."
    )
    flagged = reward_sentence(
        reward=reward(value=Decimal("5")),
        referral_words="Flagged",
        referral_reason="Self-referral by IP address: shared IP.",
        next_step=None,
    )
    assert flagged == (
        "Pending: the referral is flagged (Self-referral by IP address: shared IP); "
        "it needs a person to approve it."
    )


def test_href_is_the_url_tag_for_an_id_under_any_script_prefix():
    for view, pk in (("portal:referral", 1), ("portal:person", 2147483), ("portal:email", "42")):
        assert href(pk, view) == reverse(view, args=[pk])
    set_script_prefix("/vouch/")
    try:
        assert href(7, "portal:referral") == "/vouch/referrals/7/" == reverse("portal:referral", args=[7])
    finally:
        set_script_prefix("/")
    assert href(7, "portal:referral") == "/referrals/7/"
