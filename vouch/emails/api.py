from ninja import Header, Path, Router, Status

from vouch.api.main import ERRORS, idempotent
from vouch.api.schemas import EmailOut
from vouch.api.shapes import email_shape
from vouch.emails.selectors import email_for_site
from vouch.emails.services import email_resend

router = Router(tags=["emails"])


@router.post("/emails/{email_id}/resend", response={201: EmailOut, **ERRORS}, by_alias=True)
@idempotent
def resend_email(
    request,
    email_id: int = Path(..., ge=1, le=2**62),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Send the same email again: a new email row whose `resent_from` is the first."""
    original = email_for_site(site=request.site, email_id=email_id)
    return Status(201, email_shape(email_resend(email=original, actor=request.actor)))
