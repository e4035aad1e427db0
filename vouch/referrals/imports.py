"""Bulk status update from a CSV (Referral Rock's "Referrals: Update Existing").

A dry run asks each referral's pipeline (`decide`, as the actor "import") and changes nothing.
An applied import sends the valid rows through `referral_transitions`, the status-change service
the portal and the API use too (`referral_transition` is it with one change), a chunk of rows
per transaction: the chunk's referrals are matched and locked in one read (in primary-key
order) and its changes are made together in a savepoint, a refused row reported with the
pipeline's rule while its neighbours apply. If the chunk cannot go together (a referral moved
under it), the savepoint is rolled back and each row is redone in its own savepoint, as one by
one. Each change gets its status-history row and audit entry, labelled with the batch id, and an
`ImportChange` row in the same transaction, so the batch can be undone
(`vouch.referrals.import_undo`). A crash loses at most the chunk in flight; what was committed is
recorded. Referrals are looked up a chunk at a time: a dry run of 100,000 rows is 200 queries.
"""

import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet

from vouch import clock
from vouch.audit.services import ActorRef, audit_record
from vouch.bulk_insert import insert_rows
from vouch.campaigns.models import Campaign
from vouch.errors import VouchError
from vouch.people.models import Person
from vouch.pipelines import IMPORT, decide, pipeline_named
from vouch.read_cache import reads_cached
from vouch.referrals.csv_import import CsvRow, read_csv
from vouch.referrals.models import ImportBatch, ImportChange, Referral
from vouch.referrals.selectors import status_histories
from vouch.referrals.services import StatusMove, referral_transition, referral_transitions
from vouch.sites.models import Site

CHUNK = 500
# Rows applied per transaction: enough to share the commit, the locking read and the statements
# of `referral_transitions`, few enough that SQLite's one write lock is held well under a second
# (other writers wait up to 20 s for it): about 0.25 s a chunk on a loaded 2-core machine.
APPLY_CHUNK = 500
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


def batch_label(batch_id: str) -> str:
    """The actor label of every change a batch makes: its history rows and audit entries."""
    return f"CSV import {batch_id}"


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
        label=batch_label(report.batch_id),
        user_id=actor.user_id,
        api_key_id=actor.api_key_id,
        ip=actor.ip,
    )
    batch = _batch_open(site=site, actor=actor, report=report) if apply else None
    seen: dict[int, int] = {}
    for chunk in _chunks(rows, size=APPLY_CHUNK if apply else CHUNK):
        if batch is None:
            planned, _ = _chunk_outcomes(site=site, rows=chunk, kind=header.key_kind, seen=seen)
            outcomes = [outcome for _, _, outcome in planned]
        else:
            outcomes = _chunk_apply(batch=batch, rows=chunk, kind=header.key_kind, seen=seen, actor=importer)
        report.rows.extend(outcomes)
        if progress:
            progress(len(report.rows))
    if batch is not None:
        _batch_close(batch=batch, actor=actor, report=report)
    return report


def _batch_open(*, site: Site, actor: ActorRef, report: ImportReport) -> ImportBatch:
    return ImportBatch.objects.create(
        site=site,
        batch_id=report.batch_id,
        actor=actor.kind,
        actor_label=actor.label,
        key_column=report.key_column,
        created_at=clock.now(),
    )


def _chunk_apply(
    *, batch: ImportBatch, rows: list[CsvRow], kind: str, seen: dict[int, int], actor: ActorRef
) -> list[RowOutcome]:
    """One transaction per chunk: the chunk's referrals are locked and read once, the chunk's
    changes go through `referral_transitions` together (in a savepoint), and the changes made are
    recorded. If that raises (a referral moved under the import, or any refusal that is not a
    pipeline's), the savepoint is rolled back and the chunk redone row by row, each row in its
    own savepoint, so each refused row gets its own reason and its neighbours still apply. The
    site's webhook endpoints, blacklist and email templates are read once per chunk: no row
    writes them, and each referral appears once in a file (a second line is refused)."""
    with reads_cached(), transaction.atomic():
        planned, locked = _chunk_outcomes(site=batch.site, rows=rows, kind=kind, seen=seen, lock=True)
        todo = []
        for row, match, outcome in planned:
            if outcome.outcome == WILL_CHANGE:
                outcome.from_status = locked[match.pk].status
                todo.append((row, outcome))
        try:
            with transaction.atomic():
                _apply_together(todo=todo, locked=locked, actor=actor)
        except VouchError:
            with reads_cached():  # nothing read in the rolled-back savepoint is kept
                locked = _locked(site=batch.site, ids=[outcome.referral for _, outcome in todo])
                for row, outcome in todo:
                    _apply(row=row, referral=locked[outcome.referral], outcome=outcome, actor=actor)
        insert_rows(
            ImportChange,
            [_change(batch=batch, outcome=outcome) for _, outcome in todo if outcome.outcome == CHANGED],
        )
    return [outcome for _, _, outcome in planned]


def _apply_together(
    *, todo: list[tuple[CsvRow, RowOutcome]], locked: dict[int, Referral], actor: ActorRef
) -> None:
    changes = [
        StatusMove(locked[outcome.referral], target=row.status, reason=row.note or DEFAULT_REASON)
        for row, outcome in todo
    ]
    for (_, outcome), refusal in zip(todo, referral_transitions(changes=changes, actor=actor), strict=True):
        if refusal is None:
            outcome.outcome = CHANGED
        else:
            outcome.outcome, outcome.code, outcome.reason = ERROR, refusal.code, refusal.message


def _locked(*, site: Site, ids: list[int]) -> dict[int, Referral]:
    return _lock_read(site=site, referrals=Referral.objects.filter(site=site, pk__in=ids))


def _lock_read(*, site: Site, referrals: QuerySet[Referral]) -> dict[int, Referral]:
    """Row locks in primary-key order, so two imports touching the same referrals cannot deadlock;
    only the referrals' rows. Their campaigns are read once (not joined: a chunk's referrals share
    a few campaigns, and each joined row would parse its campaign's definition again)."""
    found = list(referrals.select_for_update(of=("self",)).order_by("pk"))
    campaigns = Campaign.objects.filter(site=site, pk__in={r.campaign_id for r in found})
    by_id = {campaign.pk: campaign for campaign in campaigns}
    for referral in found:
        referral.site, referral.campaign = site, by_id[referral.campaign_id]
    return {referral.pk: referral for referral in found}


def _change(*, batch: ImportBatch, outcome: RowOutcome) -> dict:
    """An `ImportChange` row, for `insert_rows`."""
    return {
        "site_id": batch.site_id,
        "batch_id": batch.pk,
        "referral_id": outcome.referral,
        "line": outcome.line,
        "from_status": outcome.from_status,
        "to_status": outcome.status,
    }


def _chunks(rows: Iterator[CsvRow], *, size: int) -> Iterator[list[CsvRow]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def _chunk_outcomes(
    *, site: Site, rows: list[CsvRow], kind: str, seen: dict[int, int], lock: bool = False
) -> tuple[list[tuple[CsvRow, Match | None, RowOutcome]], dict[int, Referral]]:
    """Each row's outcome as the dry run reports it; with `lock` (the apply), also the referrals
    the chunk names, read whole under their locks, by id."""
    matches, locked = _matches(site=site, kind=kind, keys=[r.key for r in rows if not r.is_error], lock=lock)
    histories = status_histories(
        site_id=site.pk, referrals=[(m.pk, m.pipeline) for found in matches.values() for m in found]
    )
    planned = []
    for row in rows:
        found = [] if row.is_error else matches.get(lookup_key(kind, row.key), [])
        match = found[0] if len(found) == 1 else None
        planned.append(
            (row, match, _outcome(row=row, found=found, kind=kind, seen=seen, histories=histories))
        )
    return planned, locked


def lookup_key(kind: str, key: str) -> str | None:
    """The key as the database stores it; None for an id that cannot be one."""
    if kind == "email":
        return key.lower()
    if kind == "id":
        return str(int(key)) if key.isascii() and key.isdigit() and len(key) < 19 else None
    return key


def _matches(
    *, site: Site, kind: str, keys: list[str], lock: bool
) -> tuple[dict[str, list[Match]], dict[int, Referral]]:
    """The referrals each key names; with `lock`, read whole and locked, and by id too."""
    wanted = {k for k in (lookup_key(kind, key) for key in keys) if k is not None}
    if not wanted:
        return {}, {}
    if kind == "email":
        # People first, then their referrals: joined in one query, SQLite scans every referral
        # of the site for each chunk.
        friends = dict(Person.objects.filter(site=site, email__in=wanted).values_list("pk", "email"))
        referrals = Referral.objects.filter(site=site, friend_id__in=friends)
        field, key_of = "friend_id", friends.__getitem__
    else:
        field = LOOKUP_FIELDS[kind]
        values = [int(k) for k in wanted] if kind == "id" else list(wanted)
        referrals = Referral.objects.filter(site=site, **{f"{field}__in": values})
        key_of = _same
    if not lock:
        found = referrals.values_list(field, "pk", "status", "campaign__pipeline")
        return _grouped((key_of(key), *rest) for key, *rest in found), {}
    locked = _lock_read(site=site, referrals=referrals)
    found = ((key_of(getattr(r, field)), r.pk, r.status, r.campaign.pipeline) for r in locked.values())
    return _grouped(found), locked


def _same(key):
    return key


def _grouped(rows: Iterable[tuple]) -> dict[str, list[Match]]:
    found: dict[str, list[Match]] = defaultdict(list)
    for key, pk, status, pipeline in sorted(rows, key=lambda row: row[1]):
        found[str(key)].append(Match(pk=pk, status=status, pipeline=pipeline))
    return found


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


def _apply(*, row: CsvRow, referral: Referral, outcome: RowOutcome, actor: ActorRef) -> None:
    """The referral was read again under its lock and `referral_transition` asks the pipeline
    again, so a row that became refused since the check above is reported, not forced."""
    try:
        with transaction.atomic():
            referral_transition(
                referral=referral, target=row.status, actor=actor, reason=row.note or DEFAULT_REASON
            )
    except VouchError as error:
        outcome.outcome, outcome.code, outcome.reason = ERROR, error.code, error.message
        return
    outcome.outcome = CHANGED


def _batch_close(*, batch: ImportBatch, actor: ActorRef, report: ImportReport) -> None:
    """Who ran the batch: the per-referral entries carry only the batch's label."""
    with transaction.atomic():
        ImportBatch.objects.filter(pk=batch.pk).update(summary=report.summary, finished_at=clock.now())
        audit_record(
            site=batch.site,
            actor=actor,
            action="referral.import",
            object_type="import",
            object_id=report.batch_id,
            after={"key_column": report.key_column, "summary": report.summary},
        )
