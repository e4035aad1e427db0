"""`vouch coupons add`: codes from a file reach the list and pay the rewards waiting for them."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from conftest import CAMPAIGN, stock
from tests.e2e.test_purchase_walk import purchase, share_and_claim
from vouch.audit.models import AuditEntry
from vouch.ops.management.commands.coupons import CodeLine, read_codes
from vouch.rewards.models import Coupon, Reward
from vouch.sites.services import site_create


def test_read_codes_takes_the_first_csv_column_skips_a_header_and_blank_lines():
    lines = ["code,value\n", "ADV-1,20\n", "\n", "  adv-2  \n", ",orphan value\n", '"ADV,3",5\n']

    assert read_codes(lines) == [CodeLine(2, "ADV-1"), CodeLine(4, "adv-2"), CodeLine(6, "ADV,3")]


def test_read_codes_keeps_a_first_line_that_is_a_code():
    assert read_codes(["CODE-1\n", "code\n"]) == [CodeLine(1, "CODE-1"), CodeLine(2, "code")]


def run(*args) -> str:
    out = StringIO()
    call_command("coupons", "add", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def waiting_reward(api, site):
    """A referral whose advocate reward waits because the advocate list is empty."""
    assert api.post("/campaigns", CAMPAIGN).status_code == 201
    stock(site, "friend-codes", ["FRIEND001"])
    _, coupon = share_and_claim(api)
    referral = purchase(api, coupon=coupon).json()["referral"]
    [reward] = referral["rewards"]
    assert reward["status"] == "waiting_for_coupon"
    return Reward.objects.get(pk=reward["id"])


def test_add_reports_added_duplicates_invalid_lines_and_gives_the_waiting_reward(
    waiting_reward, site, tmp_path
):
    path = tmp_path / "codes.csv"
    path.write_text("code,value\nadv-new-1,20\n\nX,20\nADV-NEW-1,20\nadv-new-2,20\n")

    out = run("advocate-codes", str(path))

    assert out.splitlines() == [
        "added: 2",
        "already there: 1",
        "  ADV-NEW-1",
        "invalid: 1",
        "  line 4: 'X': A coupon code has at least 3 characters.",
        "waiting rewards given: 1",
        "remaining in 'advocate-codes': 1",
    ]
    waiting_reward.refresh_from_db()
    assert waiting_reward.status == "given"
    assert waiting_reward.code == "ADV-NEW-1"
    entry = AuditEntry.objects.get(site=site, action="coupon_list.top_up", actor="import")
    assert entry.actor_label == "cli"
    assert entry.after["rewards_given"] == [waiting_reward.pk]

    again = run("advocate-codes", str(path), "--site", "acme")

    assert again.splitlines()[:2] == ["added: 0", "already there: 3"]
    assert Coupon.objects.filter(coupon_list__slug="advocate-codes").count() == 2


def test_add_picks_the_only_site_or_needs_site_when_there_are_several(db, tmp_path):
    path = tmp_path / "codes.txt"
    path.write_text("AAA111\nBBB222\n")
    site_create(slug="acme")

    out = run("spring-codes", str(path))

    assert out.splitlines()[:2] == ["Created the coupon list 'spring-codes'.", "added: 2"]
    assert out.splitlines()[-1] == "remaining in 'spring-codes': 2"
    site_create(slug="globex")
    with pytest.raises(CommandError, match="--site"):
        run("spring-codes", str(path))
    with pytest.raises(CommandError, match="No site 'nope'"):
        run("spring-codes", str(path), "--site", "nope")


def test_add_refuses_a_missing_file_an_empty_file_and_a_bad_slug(site, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")

    with pytest.raises(CommandError, match="Cannot read"):
        run("spring-codes", str(tmp_path / "missing.txt"))
    with pytest.raises(CommandError, match="holds no codes"):
        run("spring-codes", str(empty))
    with pytest.raises(CommandError, match="not a coupon list slug"):
        run("Spring Codes", str(empty))
    assert Coupon.objects.count() == 0
