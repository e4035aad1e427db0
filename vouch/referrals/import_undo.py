"""Undoing an applied CSV import: every change of the batch moved back, or none.

A change can be reversed when the referral has not moved since (its status is still the one
the import set, and its last history row is the import's) and its pipeline lets an import take
the reverse transition (`decide`, as the actor "import"). The check is a pure function; the undo
locks the batch and its referrals, checks every change, and only then moves each referral back
through `referral_transitions` (as many status changes made together), all in one transaction.
"""

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from vouch import clock
from vouch.audit.services import ActorRef, audit_record
from vouch.errors import Conflict, NotFound
from vouch.pipelines import IMPORT, Pipeline, decide, pipeline_named
from vouch.referrals.imports import batch_label
from vouch.referrals.models import ImportBatch, ImportChange, Referral, StatusChange
from vouch.referrals.selectors import status_histories
from vouch.referrals.services import StatusMove, referral_transitions
from vouch.sites.models import Site

CHUNK = 500
SHOWN_REFUSALS = 5
MAX_DETAILS = 100


@dataclass(frozen=True)
class LastStep:
    """Where a referral is now: its status and who made its last status change."""

    status: str
    last_label: str
    history: Sequence[str] = ()


@dataclass(frozen=True)
class UndoRefusal:
    line: int
    referral: int
    reason: str

    def as_dict(self) -> dict:
        return {"line": self.line, "referral": self.referral, "reason": self.reason}


def undo_refusal(*, pipeline: Pipeline, change: ImportChange, now: LastStep, label: str) -> str | None:
    """Why this change cannot be reversed, or None when it can."""
    if now.status != change.to_status or now.last_label != label:
        return f"The referral has changed since the import (it is now {now.status})."
    decision = decide(
        pipeline, current=change.to_status, target=change.from_status, actor=IMPORT, history=now.history
    )
    return None if decision.allowed else decision.rule


def import_batch_for_site(*, site: Site, batch_id: str, lock: bool = False) -> ImportBatch:
    batches = ImportBatch.objects.filter(site=site, batch_id=batch_id)
    batch = (batches.select_for_update() if lock else batches).first() if _plausible(batch_id) else None
    if batch is None:
        raise NotFound("import_not_found", f"No applied import '{batch_id[:40]}' on this site.")
    return batch


def _plausible(batch_id: str) -> bool:
    return 0 < len(batch_id) <= 12 and batch_id.isascii() and batch_id.isalnum()


def import_batch_details(*, batch: ImportBatch) -> dict:
    """The batch as the API and the portal show it, with whether it can be undone now and,
    if not, why."""
    refusals = [] if batch.undone_at or not batch.finished_at else import_undo_refusals(batch=batch)
    return {
        "batch_id": batch.batch_id,
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
        "undone_at": batch.undone_at,
        "by": batch.actor_label or batch.actor,
        "key_column": batch.key_column,
        "summary": batch.summary,
        "changes": batch.changes.count(),
        "can_undo": batch.finished_at is not None and batch.undone_at is None and not refusals,
        "undo_refusals": [r.as_dict() for r in refusals[:MAX_DETAILS]],
    }


def import_undo_refusals(*, batch: ImportBatch) -> list[UndoRefusal]:
    """The changes that cannot be reversed now (none: the batch can be undone)."""
    return [refusal for part in _checked(batch=batch, lock=False) for refusal in part[1]]


def import_batch_undo(*, site: Site, batch_id: str, actor: ActorRef) -> ImportBatch:
    """Move every referral the batch changed back to its status before, in one transaction;
    refused (409 `import_not_reversible`, listing the rows) when any change cannot be reversed."""
    with transaction.atomic():
        batch = import_batch_for_site(site=site, batch_id=batch_id, lock=True)
        _check_open(batch)
        planned, refusals = [], []
        for part, refused in _checked(batch=batch, lock=True):
            planned.extend(part)
            refusals.extend(refused)
        if refusals:
            raise _not_reversible(batch=batch, refusals=refusals)
        undoer = ActorRef(
            kind=IMPORT,
            label=f"Undo of {batch_label(batch.batch_id)}",
            user_id=actor.user_id,
            api_key_id=actor.api_key_id,
            ip=actor.ip,
        )
        moves = [StatusMove(referral, change.from_status, undoer.label) for change, referral in planned]
        for start in range(0, len(moves), CHUNK):
            for refusal in referral_transitions(changes=moves[start : start + CHUNK], actor=undoer):
                if refusal is not None:  # (each was checked above, under the locks)
                    raise refusal
        batch.undone_at = clock.now()
        ImportBatch.objects.filter(pk=batch.pk).update(undone_at=batch.undone_at)
        audit_record(
            site=site,
            actor=actor,
            action="referral.import_undo",
            object_type="import",
            object_id=batch.batch_id,
            after={"changes": len(planned)},
        )
        return batch


def _check_open(batch: ImportBatch) -> None:
    if batch.undone_at is not None:
        raise Conflict("import_undone", f"Import {batch.batch_id} has already been undone.")
    if batch.finished_at is None:
        raise Conflict(
            "import_unfinished",
            f"Import {batch.batch_id} did not finish (it is running or it stopped): it cannot be undone.",
        )


def _not_reversible(*, batch: ImportBatch, refusals: list[UndoRefusal]) -> Conflict:
    shown = "; ".join(f"line {r.line} (referral {r.referral}): {r.reason}" for r in refusals[:SHOWN_REFUSALS])
    more = f"; and {len(refusals) - SHOWN_REFUSALS} more" if len(refusals) > SHOWN_REFUSALS else ""
    return Conflict(
        "import_not_reversible",
        f"Import {batch.batch_id} cannot be undone: {len(refusals)} of its changes cannot be "
        f"reversed. {shown}{more}. Nothing was changed.",
        details=[r.as_dict() for r in refusals[:MAX_DETAILS]],
    )


def _checked(
    *, batch: ImportBatch, lock: bool
) -> Iterator[tuple[list[tuple[ImportChange, Referral]], list[UndoRefusal]]]:
    """The batch's changes a chunk at a time (by referral, so locks come in primary-key order):
    the ones that can be reversed with their referral, and the refusals."""
    label = batch_label(batch.batch_id)
    changes = batch.changes.order_by("referral_id").iterator(chunk_size=CHUNK)
    while chunk := list(itertools.islice(changes, CHUNK)):
        referrals = _referrals(batch=batch, ids=[c.referral_id for c in chunk], lock=lock)
        steps = _last_steps(batch=batch, referrals=referrals)
        planned, refused = [], []
        for change in chunk:
            referral = referrals[change.referral_id]
            pipeline = pipeline_named(referral.campaign.pipeline)
            reason = undo_refusal(pipeline=pipeline, change=change, now=steps[referral.pk], label=label)
            if reason:
                refused.append(UndoRefusal(change.line, change.referral_id, reason))
            else:
                planned.append((change, referral))
        yield planned, refused


def _referrals(*, batch: ImportBatch, ids: list[int], lock: bool) -> dict[int, Referral]:
    referrals = Referral.objects.filter(site_id=batch.site_id, pk__in=ids).select_related("campaign", "site")
    if lock:
        referrals = referrals.select_for_update(of=("self",))
    return {r.pk: r for r in referrals.order_by("pk")}


def _last_steps(*, batch: ImportBatch, referrals: dict[int, Referral]) -> dict[int, LastStep]:
    ids = list(referrals)
    last_ids = (
        StatusChange.objects.filter(site_id=batch.site_id, referral_id__in=ids)
        .values("referral_id")
        .annotate(last=Max("id"))
        .values("last")
    )
    labels = dict(StatusChange.objects.filter(pk__in=last_ids).values_list("referral_id", "actor_label"))
    histories = status_histories(
        site_id=batch.site_id, referrals=[(pk, r.campaign.pipeline) for pk, r in referrals.items()]
    )
    return {
        pk: LastStep(status=r.status, last_label=labels.get(pk, ""), history=histories.get(pk, ()))
        for pk, r in referrals.items()
    }
