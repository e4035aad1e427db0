"""Acting: create a referral by hand, work the referrals queue, add coupons, bulk import."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from vouch.campaigns.selectors import campaign_search
from vouch.errors import NotFound, VouchError
from vouch.pipelines import STATUSES
from vouch.portal.access import ADMIN, AGENT, VIEWER, page, staff_view
from vouch.portal.forms import AddCouponsForm, BulkStatusForm, CreateReferralForm, ImportUploadForm
from vouch.portal.selectors import (
    coupon_list_rows,
    recent_import_uploads,
    referral_queue,
    rewards_given_by_top_up,
)
from vouch.portal.services import (
    import_upload_apply,
    import_upload_for_site,
    import_upload_preview,
    import_upload_store,
    referrals_set_status_bulk,
)
from vouch.referrals.import_undo import import_batch_details, import_batch_for_site, import_batch_undo
from vouch.referrals.imports import ERROR
from vouch.referrals.services import referral_create_by_hand
from vouch.rewards.services import coupon_list_top_up

PICKER_LIMIT = 1000
PREVIEW_ROWS = 1000


@staff_view(role=VIEWER)
def campaign_picker(request: HttpRequest) -> JsonResponse:
    """The create-referral form's campaign search, as you type."""
    query = request.GET.get("q", "").replace("\x00", "")[:200]
    found = campaign_search(site=request.site, query=query, limit=20)
    return JsonResponse({"campaigns": [{"slug": c.slug, "name": c.name, "status": c.status} for c in found]})


@staff_view(role=AGENT)
def referral_create(request: HttpRequest) -> HttpResponse:
    campaigns = campaign_search(site=request.site, limit=PICKER_LIMIT)
    if request.method != "POST":
        form = CreateReferralForm(
            campaigns=campaigns, initial={"advocate_email": request.GET.get("advocate", "")[:254]}
        )
        return page(request, "portal/referral_create.html", {"form": form})
    form = CreateReferralForm(request.POST, campaigns=campaigns)
    if form.is_valid():
        data = form.cleaned_data
        try:
            created = referral_create_by_hand(
                campaign=data["campaign"],
                advocate_email=data["advocate_email"],
                friend_email=data["friend_email"],
                order_number=data["order_number"].strip(),
                subtotal=data["subtotal"],
                actor=request.actor,
            )
        except VouchError as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(request, f"Referral {created.pk} created: it is now {created.status}.")
            return redirect("portal:referral", referral_id=created.pk)
    return page(request, "portal/referral_create.html", {"form": form}, status=400)


QUEUE_CHOICES = (
    "flagged",
    "pending",
    "pending_denial",
    "verification_required",
    "account_validation_required",
)


@staff_view(role=VIEWER, post_role=AGENT)
def referral_queue_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "flagged")
    if status not in STATUSES:
        status = "flagged"
    results, form = None, None
    if request.method == "POST":
        form = BulkStatusForm(request.POST)
        if form.is_valid():
            results = referrals_set_status_bulk(
                site=request.site,
                referral_ids=form.cleaned_data["referral"],
                status=form.cleaned_data["status"],
                actor=request.actor,
                reason=form.cleaned_data["reason"],
            )
    referrals, total = referral_queue(site=request.site, status=status)
    return page(
        request,
        "portal/queue.html",
        {
            "status": status,
            "choices": [*QUEUE_CHOICES, *(s for s in STATUSES if s not in QUEUE_CHOICES)],
            "referrals": referrals,
            "total": total,
            "results": results,
            "form": form,
        },
        status=400 if form is not None and not form.is_valid() else 200,
    )


@staff_view(role=VIEWER)
def coupon_lists(request: HttpRequest) -> HttpResponse:
    return page(request, "portal/coupon_lists.html", {"rows": coupon_list_rows(site=request.site)})


@staff_view(role=VIEWER, post_role=AGENT)
def coupon_list(request: HttpRequest, slug: str) -> HttpResponse:
    rows = coupon_list_rows(site=request.site, slug=slug)
    if not rows:
        raise Http404("No such coupon list on this site.")
    form, outcome, given = AddCouponsForm(), None, []
    if request.method == "POST":
        form = AddCouponsForm(request.POST, request.FILES)
        if form.is_valid():
            lines = form.cleaned_data["lines"]
            result = coupon_list_top_up(
                site=request.site, slug=slug, codes=[code for _, code in lines], actor=request.actor
            )
            outcome = {
                "added": result.added,
                "already_there": result.already_there,
                "invalid": [
                    {"line": lines[i["position"] - 1][0], "code": i["code"], "message": i["message"]}
                    for i in result.invalid
                ],
            }
            given = rewards_given_by_top_up(site=request.site, reward_ids=result.rewards_given)
            rows = coupon_list_rows(site=request.site, slug=slug)
            form = AddCouponsForm()
    return page(
        request,
        "portal/coupon_list.html",
        {"row": rows[0], "form": form, "outcome": outcome, "given": given},
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@staff_view(role=ADMIN)
def imports(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm()
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                stored = import_upload_store(
                    site=request.site, user_id=request.user.pk, filename=upload.name, data=upload.read()
                )
            except VouchError as refusal:
                form.add_error("file", refusal.message)
            else:
                return redirect("portal:import", upload_id=stored.pk)
    return page(
        request,
        "portal/imports.html",
        {"form": form, "uploads": recent_import_uploads(site=request.site)},
        status=400 if form.is_bound else 200,
    )


def _report_page(
    request: HttpRequest, upload, report=None, error: str = "", status: int = 200
) -> HttpResponse:
    """A dry run's preview, an applied import's result, or an applied upload's stored result."""
    data = report.as_dict() if report is not None else upload.result
    rows = data["rows"] if data else []
    return page(
        request,
        "portal/import.html",
        {
            "upload": upload,
            "report": data,
            "rows": rows[:PREVIEW_ROWS],
            "hidden_rows": max(0, len(rows) - PREVIEW_ROWS),
            "hidden_errors": [r for r in rows[PREVIEW_ROWS:] if r["outcome"] == ERROR],
            "batch": _batch(request, upload),
            "error": error,
        },
        status=status,
    )


def _batch(request: HttpRequest, upload) -> dict | None:
    """The applied batch of an upload, with whether it can be undone now (none for a file
    applied before batches were kept)."""
    batch_id = (upload.result or {}).get("batch_id")
    try:
        batch = import_batch_for_site(site=request.site, batch_id=batch_id) if batch_id else None
    except NotFound:
        return None
    return import_batch_details(batch=batch) if batch else None


@staff_view(role=ADMIN)
def import_preview(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload = import_upload_for_site(site=request.site, upload_id=upload_id)
    if upload.applied_at is not None:
        return _report_page(request, upload)
    try:
        report = import_upload_preview(upload=upload, actor=request.actor)
    except VouchError as refusal:
        return _report_page(request, upload, error=refusal.message, status=refusal.status)
    return _report_page(request, upload, report)


@require_POST
@staff_view(role=ADMIN)
def import_apply(request: HttpRequest, upload_id: int) -> HttpResponse:
    upload = import_upload_for_site(site=request.site, upload_id=upload_id)
    if not request.POST.get("confirm"):
        report = import_upload_preview(upload=upload, actor=request.actor)
        return _report_page(request, upload, report, error="Tick the box to confirm the import.", status=400)
    try:
        report = import_upload_apply(upload=upload, actor=request.actor)
    except VouchError as refusal:
        return _report_page(request, upload, error=refusal.message, status=refusal.status)
    upload.refresh_from_db()
    return _report_page(request, upload, report)


@require_POST
@staff_view(role=AGENT)
def import_undo(request: HttpRequest, upload_id: int) -> HttpResponse:
    """Undo an applied import: every change moved back, or none (the refusal lists the rows)."""
    upload = import_upload_for_site(site=request.site, upload_id=upload_id)
    batch_id = (upload.result or {}).get("batch_id")
    if not batch_id:
        raise Http404("This file has not been imported.")
    if not request.POST.get("confirm"):
        return _report_page(request, upload, error="Tick the box to confirm the undo.", status=400)
    try:
        batch = import_batch_undo(site=request.site, batch_id=batch_id, actor=request.actor)
    except VouchError as refusal:
        return _report_page(request, upload, error=refusal.message, status=refusal.status)
    messages.success(request, f"Import {batch.batch_id} was undone: every referral it changed is back.")
    return _report_page(request, upload)
