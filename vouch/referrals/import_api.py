import io
from datetime import datetime
from typing import Literal

from ninja import File, Header, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from vouch.api.main import ERRORS, idempotent
from vouch.referrals.csv_import import check_utf8
from vouch.referrals.import_undo import import_batch_details, import_batch_for_site, import_batch_undo
from vouch.referrals.imports import referrals_import

router = Router(tags=["referrals"])

# What the OpenAPI document promises of the upload: its first line is one of the headers the
# import accepts (it also accepts any column order, letter case, `;` separators and extra columns).
HEADER_PATTERN = r"^(referralkey_ID|referralkey_externalid|referralkey_email),status(,note)?(,amount)?\r?\n"


class CsvFile(UploadedFile):
    """An uploaded file, documented as a CSV whose first line is a header the import accepts,
    so an OpenAPI client (and fuzzer) knows a file without one is refused with 422."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler) -> dict:
        return {
            "type": "string",
            "contentMediaType": "application/octet-stream",
            "pattern": HEADER_PATTERN,
            "description": "a CSV file, UTF-8; the first line is the header",
        }


class ImportRowOut(Schema):
    line: int = Field(description="the line as a spreadsheet shows it; the header is line 1")
    key: str = Field(description="the key column's value, as written")
    status: str = Field(description="the status asked for (snake_case when it is a known status)")
    outcome: Literal["will_change", "changed", "unchanged", "error"]
    referral: int | None = Field(description="the referral's id, once the key found one")
    from_status: str | None = Field(alias="from", description="the referral's status before the import")
    code: str | None = Field(
        description="for an error: unknown_key, ambiguous_email, unknown_status, "
        "transition_not_allowed, malformed_row, duplicate_key (or status_changed when applying)"
    )
    reason: str | None = Field(
        description="a sentence for a person; for a refused change, the pipeline's rule"
    )


class ImportReportOut(Schema):
    batch_id: str = Field(description="names the batch in each change's history and audit entry")
    dry_run: bool
    summary: dict[str, int] = Field(
        description='{"rows", "will_change" (dry run) or "changed", "unchanged", "errors"}'
    )
    rows: list[ImportRowOut]


@router.post("/referrals/import", response={200: ImportReportOut, **ERRORS}, by_alias=True)
@idempotent
def import_referrals(
    request,
    file: File[CsvFile],
    dry_run: bool = True,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Bulk status update from a CSV (multipart field `file`, UTF-8). Columns: `status` and exactly
    one key column of `referralkey_ID`, `referralkey_externalid`, `referralkey_email` (the friend's
    email); optional `note` (the reason recorded) and `amount` (checked, not stored). With
    `dry_run=true` (the default) each row's outcome is listed and nothing changes; `dry_run=false`
    applies the valid rows, each through the same status change as a manual one (a refused row
    does not stop the others), and the `batch_id` names the import for
    `GET /referrals/imports/{batch_id}` and its undo. A wrong header or a file that is not UTF-8
    is 422 `invalid_csv`."""
    check_utf8(file.file)
    file.file.seek(0)
    lines = io.TextIOWrapper(file.file, encoding="utf-8-sig", newline="")
    try:
        report = referrals_import(site=request.site, lines=lines, actor=request.actor, apply=not dry_run)
    finally:
        lines.detach()
    return Status(200, report.as_dict())


class UndoRefusalOut(Schema):
    line: int = Field(description="the CSV line of the change")
    referral: int
    reason: str = Field(
        description="why the change cannot be reversed: the pipeline's rule, or a later change"
    )


class ImportBatchOut(Schema):
    batch_id: str
    created_at: datetime
    finished_at: datetime | None = Field(description="null while the import runs, or if it stopped")
    undone_at: datetime | None
    by: str = Field(description="who ran the import: the API key, the staff user or the command line")
    key_column: str
    summary: dict[str, int]
    changes: int = Field(description="status changes the import made")
    can_undo: bool = Field(description="every change can be reversed now")
    undo_refusals: list[UndoRefusalOut] = Field(
        description="the changes that cannot be reversed (at most 100)"
    )


@router.get("/referrals/imports/{batch_id}", response={200: ImportBatchOut, **ERRORS}, by_alias=True)
def get_import(request, batch_id: str):
    """An applied import (`batch_id` from its report): its summary, and whether it can be undone."""
    batch = import_batch_for_site(site=request.site, batch_id=batch_id)
    return Status(200, import_batch_details(batch=batch))


@router.post("/referrals/imports/{batch_id}/undo", response={200: ImportBatchOut, **ERRORS}, by_alias=True)
@idempotent
def undo_import(request, batch_id: str, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """Undo an applied import: every referral it changed goes back to its status before, each
    through its pipeline, all in one transaction. 409 `import_not_reversible` (nothing changed;
    `details` lists each change that cannot be reversed: a final status, or a referral changed
    since), 409 `import_undone` when it was undone already, 404 `import_not_found`."""
    import_batch_undo(site=request.site, batch_id=batch_id, actor=request.actor)
    batch = import_batch_for_site(site=request.site, batch_id=batch_id)
    return Status(200, import_batch_details(batch=batch))
