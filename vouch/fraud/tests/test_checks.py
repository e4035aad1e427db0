import json

import pytest

from vouch.fraud.checks import (
    ACTIONS,
    CHECK_LABELS,
    CHECKS,
    DEFAULT_ACTIONS,
    BlacklistRule,
    CheckResult,
    Facts,
    PartyFacts,
    Velocity,
    canonical_email,
    email_domain,
    is_disposable_domain,
    run_checks,
    verdict,
)


def facts(
    advocate="alice@example.com",
    friend="bob@example.org",
    *,
    advocate_ips=(),
    friend_ips=(),
    advocate_visitor_uuids=(),
    friend_visitor_uuids=(),
    advocate_shipping_addresses=(),
    friend_shipping_addresses=(),
    **rest,
) -> Facts:
    return Facts(
        advocate=PartyFacts(
            advocate,
            ips=frozenset(advocate_ips),
            visitor_uuids=frozenset(advocate_visitor_uuids),
            shipping_addresses=frozenset(advocate_shipping_addresses),
        ),
        friend=PartyFacts(
            friend,
            ips=frozenset(friend_ips),
            visitor_uuids=frozenset(friend_visitor_uuids),
            shipping_addresses=frozenset(friend_shipping_addresses),
        ),
        **rest,
    )


def result(check, the_facts, actions=None, velocity=None) -> CheckResult:
    results = run_checks(facts=the_facts, actions=actions, velocity=velocity or Velocity())
    return next(r for r in results if r.check == check)


def blacklisted(*rules: BlacklistRule, friend="bob@example.org", ips=()) -> CheckResult:
    return result("blacklist", facts(friend=friend, friend_ips=ips, blacklist=rules))


# --- configuration ----------------------------------------------------------------


def test_every_check_has_a_label_and_a_default_action():
    assert set(CHECK_LABELS) == set(CHECKS) == set(DEFAULT_ACTIONS)
    assert set(DEFAULT_ACTIONS.values()) <= set(ACTIONS)
    assert CHECK_LABELS["cross_referral"] == "Cross-referral"


# --- canonical emails ---------------------------------------------------------------


def test_gmail_dots_and_plus_tags_are_the_same_person():
    assert canonical_email(" Jo.Hn+promo@Gmail.com ") == "john@gmail.com"


def test_googlemail_is_gmail():
    assert canonical_email("j.o.h.n@googlemail.com") == "john@gmail.com"


def test_other_domains_drop_plus_tags_but_keep_dots():
    assert canonical_email("John.Smith+x@Example.com") == "john.smith@example.com"


def test_email_without_at_sign_is_only_cleaned():
    assert canonical_email("  Not-An.Email ") == "not-an.email"
    assert email_domain("not-an-email") == ""


def test_email_domain_is_lower_cased():
    assert email_domain("x@Sub.Example.COM") == "sub.example.com"


# --- running and verdicts --------------------------------------------------------------


def test_clean_referral_passes_every_check():
    results = run_checks(facts=facts())
    assert [r.check for r in results] == list(CHECKS)
    assert all(r.outcome == "pass" and not r.hit and r.message == "No match." for r in results)
    assert verdict(results) == "pass"


def test_results_are_json_serialisable():
    the_facts = facts(
        advocate="john@gmail.com",
        friend="jo.hn+x@gmail.com",
        advocate_ips={"1.2.3.4"},
        friend_ips={"1.2.3.4"},
        cross_referral_ids=(3,),
        blacklist=(BlacklistRule("ip", "1.2.3.0/24", id=1),),
        advocate_referrals_last_hour=99,
    )
    payload = json.dumps([r.as_dict() for r in run_checks(facts=the_facts)])
    assert json.loads(payload)[0]["evidence"]["canonical"] == "john@gmail.com"


def test_result_as_dict_has_every_field():
    as_dict = run_checks(facts=facts())[0].as_dict()
    assert as_dict == {
        "check": "self_referral_email",
        "outcome": "pass",
        "hit": False,
        "message": "No match.",
        "evidence": {},
    }


def test_unknown_action_is_refused():
    with pytest.raises(ValueError):
        run_checks(facts=facts(), actions={"velocity": "panic"})


def test_missing_actions_fall_back_to_defaults():
    the_facts = facts(advocate="john@gmail.com", friend="j.ohn@gmail.com")
    assert result("self_referral_email", the_facts, actions={"velocity": "ignore"}).outcome == ("block")


def test_verdict_is_the_strongest_outcome():
    def r(outcome):
        return CheckResult("velocity", outcome, outcome != "pass", "", {})

    assert verdict([r("pass"), r("flag")]) == "flag"
    assert verdict([r("flag"), r("block"), r("pass")]) == "block"
    assert verdict([]) == "pass"


def test_ignored_check_still_reports_its_evidence():
    the_facts = facts(advocate="john@gmail.com", friend="jo.hn+x@gmail.com")
    ignored = result("self_referral_email", the_facts, actions={"self_referral_email": "ignore"})
    assert ignored.outcome == "pass" and ignored.hit
    assert ignored.evidence["canonical"] == "john@gmail.com"
    assert "ignored by the campaign" in ignored.message


# --- self-referral -----------------------------------------------------------------------


def test_self_referral_by_email_blocks_by_default():
    hit = result("self_referral_email", facts(advocate="john@gmail.com", friend="jo.hn+x@gmail.com"))
    assert (hit.outcome, hit.hit) == ("block", True)
    assert hit.message == (
        "Friend's email jo.hn+x@gmail.com is the advocate's email john@gmail.com in canonical form."
    )
    assert hit.evidence == {
        "advocate": "john@gmail.com",
        "friend": "jo.hn+x@gmail.com",
        "canonical": "john@gmail.com",
    }


def test_different_people_are_not_a_self_referral_by_email():
    assert not result("self_referral_email", facts("john@gmail.com", "jane@gmail.com")).hit


def test_dots_matter_outside_gmail():
    assert not result("self_referral_email", facts("j.ohn@example.com", "john@example.com")).hit


def test_shared_ip_flags_by_default():
    hit = result(
        "self_referral_ip",
        facts(
            advocate_ips={"1.2.3.4", "5.6.7.8", ""},
            friend_ips={"5.6.7.8", "1.2.3.4", "9.9.9.9"},
        ),
    )
    assert hit.outcome == "flag"
    assert hit.evidence == {"shared": ["1.2.3.4", "5.6.7.8"]}


def test_ipv6_addresses_are_compared_in_normal_form():
    hit = result("self_referral_ip", facts(advocate_ips={"2001:DB8::1"}, friend_ips={"2001:db8:0::1"}))
    assert hit.evidence == {"shared": ["2001:db8::1"]}


def test_ipv4_mapped_ipv6_is_the_same_ip():
    hit = result("self_referral_ip", facts(advocate_ips={"::ffff:1.2.3.4"}, friend_ips={"1.2.3.4"}))
    assert hit.evidence == {"shared": ["1.2.3.4"]}


def test_empty_ips_are_not_shared():
    assert not result("self_referral_ip", facts(advocate_ips={""}, friend_ips={""})).hit
    assert not result("self_referral_ip", facts(advocate_ips={"1.1.1.1"}, friend_ips={"2.2.2.2"})).hit


def test_shared_visitor_uuid_blocks_regardless_of_case():
    uuid = "6f1c2b1e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"
    hit = result(
        "self_referral_visitor_uuid",
        facts(
            advocate_visitor_uuids={uuid.upper()},
            friend_visitor_uuids={uuid},
        ),
    )
    assert hit.outcome == "block"
    assert hit.evidence == {"shared": [uuid]}


def test_different_visitor_uuids_pass():
    miss = result(
        "self_referral_visitor_uuid",
        facts(
            advocate_visitor_uuids={"a"},
            friend_visitor_uuids={"b", ""},
        ),
    )
    assert not miss.hit


def test_same_shipping_address_written_differently_flags():
    hit = result(
        "self_referral_shipping_address",
        facts(
            advocate_shipping_addresses={"12 Main Street, Apt. 4B,  Springfield"},
            friend_shipping_addresses={"12 main st #4b springfield"},
        ),
    )
    assert hit.outcome == "flag"
    assert hit.evidence == {"shared": ["12 main st unit 4b springfield"]}


def test_suite_and_unit_are_the_same_designator():
    hit = result(
        "self_referral_shipping_address",
        facts(
            advocate_shipping_addresses={"9 Oak Avenue Suite 3"},
            friend_shipping_addresses={"9 oak ave. unit 3"},
        ),
    )
    assert hit.hit


def test_different_shipping_addresses_pass():
    miss = result(
        "self_referral_shipping_address",
        facts(
            advocate_shipping_addresses={"12 Main Street"},
            friend_shipping_addresses={"14 Main Street", "  "},
        ),
    )
    assert not miss.hit


# --- similar email ------------------------------------------------------------------------


def test_one_typo_away_is_a_similar_email():
    hit = result("similar_email", facts("john.smith@example.com", "jonh.smith@example.com"))
    assert hit.outcome == "flag"
    assert hit.evidence["distance"] == 1
    assert hit.evidence["advocate"] == "john.smith@example.com"


def test_trailing_digits_make_a_similar_email():
    hit = result("similar_email", facts("john.smith@example.com", "john.smith77@example.com"))
    assert hit.hit
    assert hit.evidence["reason"] == "trailing_digits"
    assert hit.evidence["distance"] == 2


def test_short_local_parts_need_more_than_one_letter_difference():
    assert not result("similar_email", facts("anna@example.com", "anne@example.com")).hit


def test_similar_local_part_on_another_domain_is_not_similar():
    assert not result("similar_email", facts("john.smith@example.com", "jonh.smith@other.com")).hit


def test_identical_email_is_self_referral_not_similar():
    assert not result("similar_email", facts("john@gmail.com", "j.ohn@gmail.com")).hit


# --- cross-referral --------------------------------------------------------------------------


def test_cross_referral_blocks_by_default():
    hit = result("cross_referral", facts(cross_referral_ids=(7, 3)))
    assert hit.outcome == "block"
    assert hit.evidence == {"referral_ids": [3, 7]}


def test_cross_referral_flags_when_set_to_flag():
    hit = result("cross_referral", facts(cross_referral_ids=(7,)), actions={"cross_referral": "flag"})
    assert hit.outcome == "flag"


def test_no_cross_referral_passes():
    assert not result("cross_referral", facts()).hit


# --- blacklist --------------------------------------------------------------------------------


def test_blacklist_email_wildcard_matches_friend():
    hit = blacklisted(BlacklistRule("email", "bob*@example.???", id=4))
    assert hit.outcome == "block"
    assert hit.evidence == {
        "rules": [
            {"id": 4, "kind": "email", "value": "bob*@example.???", "matched": "bob@example.org"},
        ]
    }


def test_blacklist_email_matches_canonical_form():
    hit = blacklisted(BlacklistRule("email", "john@gmail.com", id=1), friend="Jo.hn+2@gmail.com")
    assert hit.evidence["rules"][0]["matched"] == "john@gmail.com"


def test_blacklist_email_matches_raw_address_with_plus_tag():
    hit = blacklisted(BlacklistRule("email", "*+spam@*"), friend="Bob+Spam@example.org")
    assert hit.evidence["rules"][0]["matched"] == "bob+spam@example.org"


def test_blacklist_email_rule_for_someone_else_passes():
    assert not blacklisted(BlacklistRule("email", "bobby@example.org")).hit


def test_blacklist_domain_matches_domain_and_subdomains():
    rule = BlacklistRule("domain", "example.org", id=2)
    assert blacklisted(rule).evidence["rules"][0]["matched"] == "example.org"
    assert blacklisted(rule, friend="bob@mail.example.org").hit
    assert not blacklisted(rule, friend="bob@badexample.org").hit


def test_blacklist_ip_matches_single_address():
    assert blacklisted(BlacklistRule("ip", "10.0.0.1"), ips={"10.0.0.1"}).hit
    assert not blacklisted(BlacklistRule("ip", "10.0.0.1"), ips={"10.0.0.2"}).hit


def test_blacklist_ip_range_matches_friend_ip():
    hit = blacklisted(BlacklistRule("ip", "192.168.0.0/16", id=9), ips={"8.8.8.8", "192.168.4.2"})
    assert hit.evidence["rules"] == [
        {"id": 9, "kind": "ip", "value": "192.168.0.0/16", "matched": "192.168.4.2"},
    ]


def test_blacklist_ipv6_range_matches_friend_ip():
    assert blacklisted(BlacklistRule("ip", "2001:db8::/32"), ips={"2001:db8:abcd::7"}).hit
    assert not blacklisted(BlacklistRule("ip", "2001:db8::/32"), ips={"2001:db9::7", "10.0.0.1"}).hit


def test_blacklist_ip_range_matches_ipv4_mapped_friend_ip():
    hit = blacklisted(BlacklistRule("ip", "10.0.0.0/8"), ips={"::ffff:10.1.2.3"})
    assert hit.evidence["rules"][0]["matched"] == "::ffff:10.1.2.3"


def test_bad_blacklist_rules_are_skipped():
    hit = blacklisted(
        BlacklistRule("ip", "not/a/range"),
        BlacklistRule("ip", "10.0.0.0/99"),
        BlacklistRule("color", "red"),
        BlacklistRule("ip", "10.0.0.0/8", id=5),
        ips={"garbage", "10.1.2.3"},
    )
    assert [r["id"] for r in hit.evidence["rules"]] == [5]


def test_blacklist_lists_every_matching_rule():
    hit = blacklisted(
        BlacklistRule("domain", "example.org", id=1),
        BlacklistRule("ip", "10.0.0.0/8", id=2),
        ips={"10.0.0.1"},
    )
    assert [r["id"] for r in hit.evidence["rules"]] == [1, 2]


# --- disposable email -----------------------------------------------------------------------


def test_disposable_domain_flags_by_default():
    hit = result("disposable_email", facts(friend="x@Mailinator.com"))
    assert hit.outcome == "flag"
    assert hit.evidence == {"email": "x@Mailinator.com", "domain": "mailinator.com"}


def test_disposable_domain_subdomain():
    assert is_disposable_domain("a.b.mailinator.com")
    assert not is_disposable_domain("gmail.com")
    assert not is_disposable_domain("com")
    assert not is_disposable_domain("")


def test_ordinary_domain_is_not_disposable():
    assert not result("disposable_email", facts(friend="x@gmail.com")).hit


# --- velocity ---------------------------------------------------------------------------------


def test_velocity_counts_this_referral():
    at_limit = facts(advocate_referrals_last_hour=9)
    over_limit = facts(advocate_referrals_last_hour=10)
    assert not result("velocity", at_limit).hit
    hit = result("velocity", over_limit)
    assert hit.outcome == "flag"
    assert hit.evidence == {
        "last_hour": 11,
        "last_day": 1,
        "per_hour": 10,
        "per_day": 50,
        "exceeded": ["per_hour"],
    }


def test_daily_velocity_limit():
    hit = result("velocity", facts(advocate_referrals_last_day=50), velocity=Velocity(per_day=50))
    assert hit.evidence["exceeded"] == ["per_day"]


def test_no_velocity_limit_when_none():
    busy = facts(advocate_referrals_last_hour=1000, advocate_referrals_last_day=5000)
    assert not result("velocity", busy, velocity=Velocity(per_hour=None, per_day=None)).hit
