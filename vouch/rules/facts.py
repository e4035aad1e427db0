"""The variables a rule's condition and criteria read, gathered from the database
only when a rule reads them: what the rules of one trigger read from the database
comes in one statement of scalar subqueries, at the first rule that needs any of it."""

from collections import Counter
from collections.abc import Hashable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property

from django.db import connection

from vouch import clock
from vouch.events.models import Event, Kind
from vouch.fraud.selectors import email_blacklisted
from vouch.rules.models import Decision

REFERRAL_COUNTS = ("referrals_total", "referrals_approved", "referrals_this_year")
REWARD_COUNTS = ("rewards_given_total", "rewards_given_this_year", "rewards_given_30_days")
COUNTS = frozenset(REFERRAL_COUNTS + REWARD_COUNTS)
FIRING_COUNTS = frozenset({"rule_firings", "first_time"})
FRIEND_HISTORY = frozenset({"order_count", "already_referred"})


def money(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _person(person) -> dict | None:
    if person is None:
        return None
    return {
        "email": person.email,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "fields": person.fields or {},
        "segments": person.segments or [],
        "created_at": person.created_at,
        "blacklisted": email_blacklisted(site_id=person.site_id, email=person.email),
    }


def _firings(rule_id: str) -> tuple[str, str]:
    return ("firings", rule_id)


def wanted(rules: Iterable) -> frozenset[Hashable]:
    """What these compiled rules read from the database: the friend's history, the counts
    their conditions and criteria name, and the firings of each rule that counts them or
    whose reward depends on its position (tiered, every Nth)."""
    keys: set[Hashable] = set()
    for rule in rules:
        if "friend" in rule.reads:
            keys |= FRIEND_HISTORY
        if "counts" in rule.reads:
            fields = rule.counts_fields
            keys |= COUNTS if fields is None else fields & COUNTS
            if fields is None or fields & FIRING_COUNTS:
                keys.add(_firings(rule.id))
        if rule.counts_position:
            keys.add(_firings(rule.id))
    return frozenset(keys)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _at(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


class Facts:
    """What one trigger knows about its referral, its event and its advocate's history.

    `rules` (the triggered ones) say what to read from the database: the first rule that
    needs any of it reads all of it in one statement (`_fetch`). A count an action can
    change (referrals, rewards given) that no rule has read yet when a rule acts is read
    again when one does, so each rule sees what it would have seen had every fact been
    read at its first use; the friend's history and the stored firings do not change
    inside one rule run (its decision rows are written at its end or the ingest's)."""

    def __init__(
        self,
        *,
        referral,
        event: Event | None = None,
        unwritten: Iterable[Decision] = (),
        rules: Iterable = (),
    ):
        self.referral, self.event = referral, event
        self.unwritten = unwritten  # decisions of this transaction not written yet
        self.now = clock.now()
        self.fired_now: Counter[str] = Counter()
        self.contexts: dict[frozenset[str], tuple] = {}
        self.wanted = wanted(rules)
        self._read: dict[Hashable, int | bool] = {}
        self._used: set[Hashable] = set()

    def variables(self, names: frozenset[str]) -> dict:
        """The named variables except `counts`, which differs per rule."""
        return {name: getattr(self, f"{name}_facts") for name in names if name != "counts"}

    @property
    def now_facts(self) -> datetime:
        return self.now

    @cached_property
    def advocate_facts(self) -> dict:
        return _person(self.referral.advocate)

    @cached_property
    def friend_facts(self) -> dict | None:
        found = _person(self.referral.friend)
        if found is None:
            return None
        history = self._fetch(FRIEND_HISTORY)
        return {
            **found,
            "order_count": history["order_count"],
            "is_new_customer": history["order_count"] <= 1,
            "already_referred": bool(history["already_referred"]),
        }

    @cached_property
    def event_facts(self) -> dict | None:
        event = self.event
        if event is None:
            return None
        payload = event.payload or {}
        return {
            "type": event.kind,
            "id": event.external_id,
            "name": event.name,
            "subtotal": money(event.subtotal),
            "currency": event.currency,
            "fields": payload.get("fields") or {},
            "items": payload.get("items") or [],
            "occurred_at": event.occurred_at,
        }

    @cached_property
    def referral_facts(self) -> dict:
        referral = self.referral
        subtotal = referral.subtotal
        if subtotal is not None and referral.refunded:
            subtotal -= referral.refunded
        offer = referral.offer
        at = self.event.occurred_at if self.event is not None else referral.created_at
        return {
            "id": referral.pk,
            "status": referral.status,
            "campaign": referral.campaign.slug,
            "created_at": referral.created_at,
            "subtotal": money(subtotal),
            "refunded": money(referral.refunded),
            "order_number": referral.order_number,
            "offer_expired": bool(offer and offer.expires_at and offer.expires_at < at),
            "attributed_by": referral.attributed_by,
            "clicked": referral.clicked,
        }

    @cached_property
    def year_start(self) -> datetime:
        return self.now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)

    # --- what is read from the database ----------------------------------------------------

    def _fetch(self, keys: Iterable[Hashable]) -> dict[Hashable, int | bool]:
        """Facts from the database; when some are not read yet, every wanted one not read
        yet comes with them, in the same statement."""
        keys = tuple(keys)
        unread = set(keys) - self._read.keys()
        if unread:
            ahead = self.wanted - self._read.keys()
            if self.referral.friend_id is None:
                ahead -= FRIEND_HISTORY
            self._read.update(self._gather(unread | ahead))
        self._used.update(keys)
        return {key: self._read[key] for key in keys}

    def acted(self) -> None:
        """A rule's actions ran: counts read ahead for later rules but not used yet are read
        again when used, since the actions may have changed them (a reward given)."""
        for key in [k for k in self._read if k in COUNTS and k not in self._used]:
            del self._read[key]

    def _gather(self, keys: set[Hashable]) -> dict[Hashable, int | bool]:
        """The facts named by `keys` in one statement, a scalar subquery each on an index.
        Written as SQL: the ORM takes longer to build these subqueries than SQLite takes
        to run them (bench/rules.py), and this runs once or twice for every purchase."""
        ordered = sorted(keys, key=str)
        selects, params = [], []
        for key in ordered:
            select, values = self._subquery(key)
            selects.append(select)
            params += values
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(selects), params)
            row = cursor.fetchone()
        return dict(zip(ordered, row, strict=True))

    def _subquery(self, key: Hashable) -> tuple[str, list]:
        """One fact's SQL and parameters; each filters on the referral's site."""
        if key == "order_count":
            return self._order_count_sql()
        if key == "already_referred":
            return self._already_referred_sql()
        if key in COUNTS:
            return self._count_sql(key)
        return self._firings_sql(rule_id=key[1])

    def _order_count_sql(self) -> tuple[str, list]:
        referral = self.referral
        select = f"SELECT COUNT(*) FROM {_table(Event)} WHERE site_id = %s AND person_id = %s AND kind = %s"
        params = [referral.site_id, referral.friend_id, Kind.PURCHASE]
        if self.event is not None:
            select += " AND occurred_at <= %s"
            params.append(_at(self.event.occurred_at))
        return f"({select})", params

    def _already_referred_sql(self) -> tuple[str, list]:
        referral = self.referral
        select = (
            f"SELECT 1 FROM {_table(type(referral))} WHERE site_id = %s AND advocate_id = %s "
            "AND friend_id = %s AND (created_at < %s OR id < %s) AND id <> %s"
        )
        params = [referral.site_id, referral.advocate_id, referral.friend_id, _at(referral.created_at)]
        return f"EXISTS({select})", params + [referral.pk, referral.pk]

    def _count_sql(self, key: str) -> tuple[str, list]:
        """The advocate's referrals in this campaign, or rewards given anywhere on the site."""
        from vouch.rewards.models import Reward, Status

        referral = self.referral
        if key in REFERRAL_COUNTS:
            select = (
                f"SELECT COUNT(*) FROM {_table(type(referral))} "
                "WHERE site_id = %s AND campaign_id = %s AND advocate_id = %s"
            )
            params = [referral.site_id, referral.campaign_id, referral.advocate_id]
        else:
            select = (
                f"SELECT COUNT(*) FROM {_table(Reward)} WHERE site_id = %s AND person_id = %s AND status = %s"
            )
            params = [referral.site_id, referral.advocate_id, Status.GIVEN]
        since = {
            "referrals_this_year": ("created_at", self.year_start),
            "rewards_given_this_year": ("given_at", self.year_start),
            "rewards_given_30_days": ("given_at", self.now - timedelta(days=30)),
        }
        if key == "referrals_approved":
            select += " AND approved_at IS NOT NULL"
        elif key in since:
            column, at = since[key]
            select += f" AND {column} >= %s"
            params.append(_at(at))
        return f"({select})", params

    def _firings_sql(self, *, rule_id: str) -> tuple[str, list]:
        referral = self.referral
        select = (
            f"SELECT COUNT(*) FROM {_table(Decision)} d INNER JOIN {_table(type(referral))} r "
            "ON r.id = d.referral_id WHERE d.site_id = %s AND d.advocate_id = %s AND d.rule_id = %s "
            "AND d.condition_met AND r.campaign_id = %s"
        )
        return f"({select})", [referral.site_id, referral.advocate_id, rule_id, referral.campaign_id]

    @cached_property
    def base_counts(self) -> dict:
        return self._fetch(REFERRAL_COUNTS + REWARD_COUNTS)

    def firings(self, rule_id: str) -> int:
        """How many times this rule fired (its condition held) for this advocate in this
        campaign before this run: the stored decisions and those not written yet."""
        referral = self.referral
        unwritten = sum(
            1
            for d in self.unwritten
            if d.rule_id == rule_id
            and d.condition_met
            and d.advocate_id == referral.advocate_id
            and d.referral.campaign_id == referral.campaign_id
        )
        key = _firings(rule_id)
        return self._fetch((key,))[key] + unwritten

    def fired(self, rule_id: str) -> int:
        return self.firings(rule_id) + self.fired_now[rule_id]

    def counts(self, *, rule_id: str, fields: frozenset[str] | None = None) -> dict:
        """`counts` for a rule. With `fields` (those its condition and criteria name), only
        those are read: most conditions name one count."""
        if fields is None:
            found = dict(self.base_counts)
        else:
            found = self._fetch(key for key in REFERRAL_COUNTS + REWARD_COUNTS if key in fields)
        if fields is None or fields & FIRING_COUNTS:
            fired = self.fired(rule_id)
            found |= {"rule_firings": fired, "first_time": fired == 0}
        return found


def jsonable(value):
    """A variable as stored in the decision trace."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
