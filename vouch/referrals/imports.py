"""Bulk status update from a CSV (Referral Rock's "Referrals: Update Existing").

A dry run asks each referral's pipeline (`decide`, as the actor "import") and changes nothing.
An applied import sends every valid row through `referral_set_status`, the same service as the
portal and the API, each in its own transaction: one refused row does not undo the others, and
each change gets its status-history row and audit entry, labelled with the batch id.
Referrals are looked up a chunk of rows at a time, so a file of 100,000 rows is 200 queries.
"""

import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from vouch.audit.services import ActorRef, audit_record
from vouch.errors import VouchError
from vouch.people.models import Person
from vouch.pipelines import IMPORT, decide, pipeline_named
from vouch.referrals.csv_import import CsvRow, read_csv
from vouch.referrals.models import Referral, StatusChange
from vouch.referrals.services import referral_set_status
from vouch.sites.models import Site

CHUNK = 500
DEFAULT_REASON = "Bulk CSV import"
WILL_CHANGE, CHANGED, UNCHANGED, ERROR = "will_change", "changed", "unchanged", "error"
LOOKUP_FIELDS = {"id": "pk", "external_id": "external_id"}
KEY_WORDS = {"id": "the id", "external_id": "the external id", "email": "the friend email"}


@dataclass
class RowOutcome:
    line: int
    key: str
    status: str
    outcome: str
    referral: int | None = None
    from_status: str | None = None
    code: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "key": self.key,
            "status": self.status,
            "outcome": self.outcome,
            "referral": self.referral,
            "from": self.from_status,
            "code": self.code,
            "reason": self.reason,
        }


@dataclass
class ImportReport:
    batch_id: str
    dry_run: bool
    key_column: str = ""
    rows: list[RowOutcome] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(row.outcome for row in self.rows)
        done = WILL_CHANGE if self.dry_run else CHANGED
        return {
            "rows": len(self.rows),
            done: counts[done],
            UNCHANGED: counts[UNCHANGED],
            "errors": counts[ERROR],
        }

    @property
    def errors(self) -> list[RowOutcome]:
        return [row for row in self.rows if row.outcome == ERROR]

    def as_dict(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "dry_run": self.dry_run,
            "summary": self.summary,
            "rows": [row.as_dict() for row in self.rows],
        }


@dataclass(frozen=True)
class Match:
    pk: int
    status: str
    pipeline: str


def referrals_import(
    *,
    site: Site,
    lines: Iterable[str],
    actor: ActorRef,
    apply: bool,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Raises `invalid_csv` (422) before anything is read past a wrong header."""
    header, rows = read_csv(lines)
    report = ImportReport(batch_id=uuid.uuid4().hex[:12], dry_run=not apply, key_column=header.key_column)
    importer = ActorRef(
        kind=IMPORT,
        label=f"CSV import {report.batch_id}",
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
        ip=actor.ip,
    )
    seen: dict[int, int] = {}
    for chunk in _chunks(rows):
        outcomes = _chunk_outcomes(site=site, rows=chunk, kind=header.key_kind, seen=seen)
        for row, match, outcome in outcomes:
            if apply and outcome.outcome == WILL_CHANGE:
                outcome = _apply(row=row, match=match, outcome=outcome, actor=importer)
            report.rows.append(outcome)
        if progress:
            progress(len(report.rows))
    if apply:
        _audit_batch(site=site, actor=actor, report=report)
    return report


def _chunks(rows: Iterator[CsvRow]) -> Iterator[list[CsvRow]]:
    while chunk := list(itertools.islice(rows, CHUNK)):
        yield chunk


def _chunk_outcomes(
    *, site: Site, rows: list[CsvRow], kind: str, seen: dict[int, int]
) -> Iterator[tuple[CsvRow, Match | None, RowOutcome]]:
    matches = _matches(site=site, kind=kind, keys=[r.key for r in rows if not r.is_error])
    histories = _histories(site=site, matches=[m for found in matches.values() for m in found])
    for row in rows:
        found = [] if row.is_error else matches.get(lookup_key(kind, row.key), [])
        match = found[0] if len(found) == 1 else None
        yield row, match, _outcome(row=row, found=found, kind=kind, seen=seen, histories=histories)


def lookup_key(kind: str, key: str) -> str | None:
    """The key as the database stores it; None for an id that cannot be one."""
    if kind == "email":
        return key.lower()
    if kind == "id":
        return str(int(key)) if key.isascii() and key.isdigit() and len(key) < 19 else None
    return key


def _matches(*, site: Site, kind: str, keys: list[str]) -> dict[str, list[Match]]:
    wanted = {k for k in (lookup_key(kind, key) for key in keys) if k is not None}
    if not wanted:
        return {}
    if kind == "email":
        return _matches_by_friend_email(site=site, emails=wanted)
    lookup = LOOKUP_FIELDS[kind]
    values = [int(k) for k in wanted] if kind == "id" else list(wanted)
    referrals = Referral.objects.filter(site=site, **{f"{lookup}__in": values})
    return _grouped(referrals.values_list(lookup, "pk", "status", "campaign__pipeline"))


def _matches_by_friend_email(*, site: Site, emails: set[str]) -> dict[str, list[Match]]:
    """People first, then their referrals: joined in one query, SQLite scans every referral
    of the site for each chunk."""
    friends = dict(Person.objects.filter(site=site, email__in=emails).values_list("pk", "email"))
    referrals = Referral.objects.filter(site=site, friend_id__in=friends).values_list(
        "friend_id", "pk", "status", "campaign__pipeline"
    )
    return _grouped((friends[friend_id], *rest) for friend_id, *rest in referrals)


def _grouped(rows: Iterable[tuple]) -> dict[str, list[Match]]:
    found: dict[str, list[Match]] = defaultdict(list)
    for key, pk, status, pipeline in sorted(rows, key=lambda row: row[1]):
        found[str(key)].append(Match(pk=pk, status=status, pipeline=pipeline))
    return found


def _guarded(pipeline: str) -> bool:
    return any(t.guard for t in pipeline_named(pipeline).transitions)


def _histories(*, site: Site, matches: list[Match]) -> dict[int, list[str]]:
    """Statuses each referral has been in, only for pipelines whose guards read them."""
    ids = [m.pk for m in matches if _guarded(m.pipeline)]
    histories: dict[int, list[str]] = defaultdict(list)
    if ids:
        changes = (
            StatusChange.objects.filter(site=site, referral_id__in=ids)
            .order_by("referral_id", "id")
            .values_list("referral_id", "to_status")
        )
        for referral_id, status in changes:
            histories[referral_id].append(status)
    return histories


def _outcome(
    *, row: CsvRow, found: list[Match], kind: str, seen: dict[int, int], histories: dict[int, list[str]]
) -> RowOutcome:
    if row.is_error:
        return _error(row, row.code, row.reason)
    if not found:
        return _error(row, "unknown_key", f"No referral with {KEY_WORDS[kind]} '{row.key}' on this site.")
    if len(found) > 1:
        ids = ", ".join(str(m.pk) for m in found)
        return _error(
            row,
            "ambiguous_email",
            f"{len(found)} referrals have the friend email '{row.key}' (ids {ids}): "
            "use the referralkey_ID column to say which.",
        )
    match = found[0]
    if match.pk in seen:
        outcome = _error(row, "duplicate_key", f"Line {seen[match.pk]} already updates this referral.")
        outcome.referral = match.pk
        return outcome
    seen[match.pk] = row.line
    return _decision(row=row, match=match, history=histories.get(match.pk, ()))


def _decision(*, row: CsvRow, match: Match, history) -> RowOutcome:
    outcome = RowOutcome(
        row.line, row.key, row.status, WILL_CHANGE, referral=match.pk, from_status=match.status
    )
    if match.status == row.status:
        outcome.outcome = UNCHANGED
        outcome.reason = f"The referral is already {row.status}."
        return outcome
    pipeline = pipeline_named(match.pipeline)
    decision = decide(pipeline, current=match.status, target=row.status, actor=IMPORT, history=history)
    if not decision.allowed:
        outcome.outcome, outcome.code, outcome.reason = ERROR, "transition_not_allowed", decision.rule
    return outcome


def _error(row: CsvRow, code: str, reason: str) -> RowOutcome:
    return RowOutcome(row.line, row.key, row.status, ERROR, code=code, reason=reason)


def _apply(*, row: CsvRow, match: Match, outcome: RowOutcome, actor: ActorRef) -> RowOutcome:
    """The service locks and re-reads the referral by its id and asks the pipeline again,
    so a row that became refused since the check above is reported, not forced."""
    try:
        referral_set_status(
            referral=Referral(pk=match.pk), status=row.status, actor=actor, reason=row.note or DEFAULT_REASON
        )
    except VouchError as error:
        outcome.outcome, outcome.code, outcome.reason = ERROR, error.code, error.message
        return outcome
    outcome.outcome = CHANGED
    return outcome


def _audit_batch(*, site: Site, actor: ActorRef, report: ImportReport) -> None:
    """Who ran the batch: the per-referral entries carry only the batch's label."""
    audit_record(
        site=site,
        actor=actor,
        action="referral.import",
        object_type="import",
        object_id=report.batch_id,
        after={"key_column": report.key_column, "summary": report.summary},
    )
