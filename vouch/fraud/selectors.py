"""Reads about fraud settings that other areas need."""

from vouch.fraud.checks import BlacklistRule, Facts, PartyFacts, run_checks
from vouch.fraud.models import BlacklistEntry
from vouch.read_cache import cached


def blacklist_rules(*, site_id: int) -> tuple[BlacklistRule, ...]:
    """The site's blacklist; read once per ingest (`vouch.read_cache`)."""

    def load() -> tuple[BlacklistRule, ...]:
        rows = BlacklistEntry.objects.filter(site_id=site_id).values_list("id", "kind", "value")
        return tuple(BlacklistRule(kind=kind, value=value, id=pk) for pk, kind, value in rows)

    return cached(("blacklist", site_id), load)


def email_blacklisted(*, site_id: int, email: str) -> bool:
    """Does the site's blacklist match this email (exactly, by canonical form or by domain)?"""
    rules = blacklist_rules(site_id=site_id)
    if not rules:
        return False
    facts = Facts(advocate=PartyFacts(email=""), friend=PartyFacts(email=email), blacklist=rules)
    results = run_checks(facts=facts, actions={"blacklist": "block"})
    return any(r.hit for r in results if r.check == "blacklist")
