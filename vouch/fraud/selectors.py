"""Reads about fraud settings that other areas need."""

from vouch.fraud.checks import BlacklistRule, Facts, PartyFacts, run_checks
from vouch.fraud.models import BlacklistEntry


def email_blacklisted(*, site_id: int, email: str) -> bool:
    """Does the site's blacklist match this email (exactly, by canonical form or by domain)?"""
    rules = tuple(
        BlacklistRule(kind=k, value=v, id=pk)
        for pk, k, v in BlacklistEntry.objects.filter(site_id=site_id).values_list("id", "kind", "value")
    )
    if not rules:
        return False
    facts = Facts(advocate=PartyFacts(email=""), friend=PartyFacts(email=email), blacklist=rules)
    results = run_checks(facts=facts, actions={"blacklist": "block"})
    return any(r.hit for r in results if r.check == "blacklist")
