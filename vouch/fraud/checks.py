"""Fraud checks for a referral (advocate → friend) as pure functions over gathered facts.

The caller gathers the facts (emails, IPs, visitor ids, addresses, blacklist rows,
counts) and stores the results as JSON, so every evidence value is JSON-serialisable.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial

from disposable_email_domains import blocklist as _DISPOSABLE_DOMAINS

CHECKS: tuple[str, ...] = (
    "self_referral_email",
    "self_referral_ip",
    "self_referral_visitor_uuid",
    "self_referral_shipping_address",
    "similar_email",
    "cross_referral",
    "blacklist",
    "disposable_email",
    "velocity",
)
CHECK_LABELS: dict[str, str] = {
    "self_referral_email": "Self-referral by email",
    "self_referral_ip": "Self-referral by IP address",
    "self_referral_visitor_uuid": "Self-referral by visitor ID",
    "self_referral_shipping_address": "Self-referral by shipping address",
    "similar_email": "Similar email",
    "cross_referral": "Cross-referral",
    "blacklist": "Blacklist",
    "disposable_email": "Disposable email domain",
    "velocity": "Referral velocity",
}
ACTIONS = ("ignore", "flag", "block")
DEFAULT_ACTIONS: dict[str, str] = {
    "self_referral_email": "block",
    "self_referral_ip": "flag",
    "self_referral_visitor_uuid": "block",
    "self_referral_shipping_address": "flag",
    "similar_email": "flag",
    "cross_referral": "block",
    "blacklist": "block",
    "disposable_email": "flag",
    "velocity": "flag",
}

_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_ADDRESS_WORDS = {
    word: short
    for short, words in {
        "st": ("street", "str"),
        "ave": ("avenue", "av"),
        "rd": ("road",),
        "blvd": ("boulevard",),
        "dr": ("drive",),
        "ln": ("lane",),
        "unit": ("apartment", "apt", "suite", "ste"),
    }.items()
    for word in words
}


@dataclass(frozen=True)
class PartyFacts:
    email: str
    ips: frozenset[str] = frozenset()
    visitor_uuids: frozenset[str] = frozenset()
    shipping_addresses: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BlacklistRule:
    kind: str
    value: str
    id: int | None = None


@dataclass(frozen=True)
class Facts:
    advocate: PartyFacts
    friend: PartyFacts
    cross_referral_ids: tuple[int, ...] = ()
    blacklist: tuple[BlacklistRule, ...] = ()
    advocate_referrals_last_hour: int = 0
    advocate_referrals_last_day: int = 0


@dataclass(frozen=True)
class Velocity:
    per_hour: int | None = 10
    per_day: int | None = 50


@dataclass(frozen=True)
class CheckResult:
    check: str
    outcome: str
    hit: bool
    message: str
    evidence: dict = field(hash=False)

    def as_dict(self) -> dict:
        return asdict(self)


Hit = tuple[str, dict]


# --- email helpers -----------------------------------------------------------


def _split_email(email: str) -> tuple[str, str] | None:
    email = email.strip().lower()
    if "@" not in email:
        return None
    local, _, domain = email.rpartition("@")
    return local, domain.rstrip(".")


def canonical_email(email: str) -> str:
    parts = _split_email(email)
    if parts is None:
        return email.strip().lower()
    local, domain = parts
    local = local.split("+", 1)[0] or local
    if domain in _GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    parts = _split_email(email)
    return parts[1] if parts else ""


def is_disposable_domain(domain: str) -> bool:
    labels = domain.strip().lower().rstrip(".").split(".")
    return any(".".join(labels[i:]) in _DISPOSABLE_DOMAINS for i in range(len(labels) - 1))


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: Levenshtein plus adjacent transpositions."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def _differs_by_trailing_digits(a: str, b: str) -> bool:
    short, long = sorted((a, b), key=len)
    suffix = long[len(short) :]
    return bool(short) and long.startswith(short) and suffix.isdigit()


# --- normalisation of shared identifiers --------------------------------------


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Parses an address, unwrapping IPv4-mapped IPv6 (::ffff:1.2.3.4) to plain IPv4."""
    address = ipaddress.ip_address(value.strip())
    return getattr(address, "ipv4_mapped", None) or address


def _normalise_ip(value: str) -> str:
    try:
        return str(_ip(value))
    except ValueError:
        return value.strip().lower()


def normalise_address(address: str) -> str:
    words = re.sub(r"[^\w\s]", " ", address.lower().replace("#", " unit ")).split()
    out: list[str] = []
    for word in (_ADDRESS_WORDS.get(w, w) for w in words):
        if not (word == "unit" and out and out[-1] == "unit"):
            out.append(word)
    return " ".join(out)


def _shared(a: Iterable[str], b: Iterable[str], normalise: Callable[[str], str]) -> list[str]:
    left = {normalise(v) for v in a if v and v.strip()}
    right = {normalise(v) for v in b if v and v.strip()}
    return sorted((left & right) - {""})


# --- checks: each returns (message, evidence) on a hit, None otherwise ---------


def _self_referral_email(facts: Facts) -> Hit | None:
    advocate, friend = facts.advocate.email, facts.friend.email
    canonical = canonical_email(friend)
    if not canonical or canonical != canonical_email(advocate):
        return None
    return (
        f"Friend's email {friend} is the advocate's email {advocate} in canonical form.",
        {"advocate": advocate, "friend": friend, "canonical": canonical},
    )


def _shared_identifier(facts: Facts, attr: str, noun: str, normalise: Callable[[str], str]) -> Hit | None:
    shared = _shared(getattr(facts.advocate, attr), getattr(facts.friend, attr), normalise)
    if not shared:
        return None
    return f"Advocate and friend share {noun}: {', '.join(shared)}.", {"shared": shared}


def _similar_email(facts: Facts) -> Hit | None:
    advocate, friend = canonical_email(facts.advocate.email), canonical_email(facts.friend.email)
    a_parts, f_parts = _split_email(advocate), _split_email(friend)
    if advocate == friend or not a_parts or not f_parts or a_parts[1] != f_parts[1]:
        return None
    a_local, f_local = a_parts[0], f_parts[0]
    distance = _edit_distance(a_local, f_local)
    if distance <= 1 and min(len(a_local), len(f_local)) >= 5:
        reason = "edit_distance"
    elif _differs_by_trailing_digits(a_local, f_local):
        reason = "trailing_digits"
    else:
        return None
    why = f"{reason.replace('_', ' ')}, distance {distance}"
    return (
        f"Friend's email {friend} is nearly the advocate's email {advocate} ({why}).",
        {"advocate": advocate, "friend": friend, "distance": distance, "reason": reason},
    )


def _cross_referral(facts: Facts) -> Hit | None:
    ids = sorted(facts.cross_referral_ids)
    if not ids:
        return None
    listed = ", ".join(str(i) for i in ids)
    return f"The friend already referred this advocate (referral {listed}).", {"referral_ids": ids}


def _wildcard(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts))


def _match_email_rule(value: str, email: str) -> str | None:
    pattern = value.strip().lower()
    has_wildcard = "*" in pattern or "?" in pattern
    patterns = {pattern} if has_wildcard else {pattern, canonical_email(pattern)}
    for candidate in (canonical_email(email), email.strip().lower()):
        if any(_wildcard(p).fullmatch(candidate) for p in patterns):
            return candidate
    return None


def _match_domain_rule(value: str, email: str) -> str | None:
    rule = value.strip().lower().lstrip("*@.").rstrip(".")
    for domain in (email_domain(email), email_domain(canonical_email(email))):
        if rule and (domain == rule or domain.endswith("." + rule)):
            return domain
    return None


def _match_ip_rule(value: str, ips: Iterable[str]) -> str | None:
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None
    for ip in sorted(ips):
        try:
            if _ip(ip) in network:
                return ip.strip()
        except ValueError:
            continue
    return None


def _match_rule(rule: BlacklistRule, friend: PartyFacts) -> str | None:
    if rule.kind == "email":
        return _match_email_rule(rule.value, friend.email)
    if rule.kind == "domain":
        return _match_domain_rule(rule.value, friend.email)
    if rule.kind == "ip":
        return _match_ip_rule(rule.value, friend.ips)
    return None


def _blacklist(facts: Facts) -> Hit | None:
    rules = []
    for rule in facts.blacklist:
        matched = _match_rule(rule, facts.friend)
        if matched is not None:
            rules.append({"id": rule.id, "kind": rule.kind, "value": rule.value, "matched": matched})
    if not rules:
        return None
    listed = ", ".join(f"{r['kind']} {r['value']} ({r['matched']})" for r in rules)
    return f"Friend matches blacklist rule(s): {listed}.", {"rules": rules}


def _disposable_email(facts: Facts) -> Hit | None:
    domain = email_domain(facts.friend.email)
    if not domain or not is_disposable_domain(domain):
        return None
    return (
        f"Friend's email domain {domain} belongs to a disposable email provider.",
        {"email": facts.friend.email, "domain": domain},
    )


def _velocity(facts: Facts, limits: Velocity) -> Hit | None:
    """Counts include the referral being checked, so a limit of 10 allows the 10th."""
    windows = {
        "hour": (facts.advocate_referrals_last_hour + 1, limits.per_hour),
        "day": (facts.advocate_referrals_last_day + 1, limits.per_day),
    }
    exceeded = [w for w, (n, limit) in windows.items() if limit is not None and n > limit]
    if not exceeded:
        return None
    listed = " and ".join(f"{windows[w][0]} in the last {w} (limit {windows[w][1]})" for w in exceeded)
    return (
        f"The advocate has made {listed}, counting this referral.",
        {
            "last_hour": windows["hour"][0],
            "last_day": windows["day"][0],
            "per_hour": limits.per_hour,
            "per_day": limits.per_day,
            "exceeded": [f"per_{w}" for w in exceeded],
        },
    )


def _detectors(velocity: Velocity) -> dict[str, Callable[[Facts], Hit | None]]:
    return {
        "self_referral_email": _self_referral_email,
        "self_referral_ip": partial(
            _shared_identifier, attr="ips", noun="IP address(es)", normalise=_normalise_ip
        ),
        "self_referral_visitor_uuid": partial(
            _shared_identifier,
            attr="visitor_uuids",
            noun="visitor ID(s)",
            normalise=lambda v: v.strip().lower(),
        ),
        "self_referral_shipping_address": partial(
            _shared_identifier,
            attr="shipping_addresses",
            noun="shipping address(es)",
            normalise=normalise_address,
        ),
        "similar_email": _similar_email,
        "cross_referral": _cross_referral,
        "blacklist": _blacklist,
        "disposable_email": _disposable_email,
        "velocity": partial(_velocity, limits=velocity),
    }


# --- running -------------------------------------------------------------------


def _resolve_actions(actions: Mapping[str, str] | None) -> dict[str, str]:
    """Keys that are not checks are ignored, so callers may pass a wider settings dict."""
    resolved = {check: (actions or {}).get(check, DEFAULT_ACTIONS[check]) for check in CHECKS}
    for check, action in resolved.items():
        if action not in ACTIONS:
            raise ValueError(f"Unknown action {action!r} for {check!r}; use one of {ACTIONS}.")
    return resolved


def _result(check: str, action: str, hit: Hit | None) -> CheckResult:
    if hit is None:
        return CheckResult(check, "pass", False, "No match.", {})
    message, evidence = hit
    if action == "ignore":
        message = f"{message.rstrip('.')}; ignored by the campaign's fraud settings."
        return CheckResult(check, "pass", True, message, evidence)
    return CheckResult(check, action, True, message, evidence)


def run_checks(
    *,
    facts: Facts,
    actions: Mapping[str, str] | None = None,
    velocity: Velocity = Velocity(),
) -> list[CheckResult]:
    resolved = _resolve_actions(actions)
    detectors = _detectors(velocity)
    return [_result(check, resolved[check], detectors[check](facts)) for check in CHECKS]


def verdict(results: Iterable[CheckResult]) -> str:
    outcomes = {result.outcome for result in results}
    return "block" if "block" in outcomes else "flag" if "flag" in outcomes else "pass"
