"""Finding and reading: home, search, person, referral details, email details, "why no reward?"."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from vouch.emails.selectors import email_for_site
from vouch.emails.services import email_resend
from vouch.errors import VouchError
from vouch.people.selectors import PROFILE_LISTS, person_counts, person_profile
from vouch.pipelines import pipeline_named
from vouch.portal.access import AGENT, VIEWER, page, staff_view
from vouch.portal.charts import bar_chart
from vouch.portal.forms import SearchForm, StatusChangeForm
from vouch.portal.selectors import (
    coupon_list_slugs,
    person_activity,
    person_by_id,
    staff_lookup,
    status_actions,
    why_no_reward,
)
from vouch.referrals.selectors import referral_details, referral_for_site
from vouch.referrals.services import referral_set_status
from vouch.referrals.snapshot import referral_snapshot


@staff_view(role=VIEWER)
def home(request: HttpRequest) -> HttpResponse:
    snapshot = referral_snapshot(site=request.site)
    charts = [(campaign, bar_chart(campaign)) for campaign in snapshot.campaigns]
    return page(request, "portal/home.html", {"snapshot": snapshot, "charts": charts, "form": SearchForm()})


@staff_view(role=VIEWER)
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    result = staff_lookup(site=request.site, query=query)
    if result.exact_person is not None and len(result.people) == 1:
        return redirect("portal:person", person_id=result.exact_person.pk)
    return page(request, "portal/search.html", {"form": form, "result": result})


PERSON_PAGE_ROWS = 10
# Counts stop here ("10,000+"), and so do the pages: past it, search by order number or code.
PERSON_COUNT_CAP = 10_000


@staff_view(role=VIEWER)
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    """One page of each of the person's lists (`?<list>_page=N` pages one), with their counts."""
    found = person_by_id(site=request.site, person_id=person_id)
    counts = {
        name: min(n, PERSON_COUNT_CAP)
        for name, n in person_counts(person=found, cap=PERSON_COUNT_CAP).items()
    }
    shown = {name: f"{n:,}+" if n == PERSON_COUNT_CAP else n for name, n in counts.items()}
    pages = {name: _page_number(request, name, counts[name]) for name in PROFILE_LISTS}
    profile = person_profile(
        person=found,
        limit=PERSON_PAGE_ROWS,
        offsets={name: (n - 1) * PERSON_PAGE_ROWS for name, n in pages.items()},
    )
    return page(
        request,
        "portal/person.html",
        {
            "profile": profile,
            "person": profile.person,
            "activity": person_activity(profile=profile, limit=PERSON_PAGE_ROWS),
            "counts": shown,
            "given": shown["given"],
            "pagers": {
                name: {**_pager(request, name, n, counts[name]), "shown": shown[name]}
                for name, n in pages.items()
            },
        },
    )


def _page_number(request: HttpRequest, name: str, count: int) -> int:
    last = max(1, -(-count // PERSON_PAGE_ROWS))
    raw = request.GET.get(f"{name}_page", "1")
    return min(max(int(raw), 1), last) if raw.isdigit() and len(raw) < 9 else 1


def _pager(request: HttpRequest, name: str, number: int, count: int) -> dict:
    """Where this page of one list starts and ends, and the links to its neighbours."""

    def link(n: int) -> str:
        query = request.GET.copy()
        query[f"{name}_page"] = str(n)
        return f"?{query.urlencode()}#{'referrals' if name in ('advocate', 'friend') else name}"

    first = (number - 1) * PERSON_PAGE_ROWS
    return {
        "first": first + 1 if count else 0,
        "last": min(first + PERSON_PAGE_ROWS, count),
        "count": count,
        "previous": link(number - 1) if number > 1 else "",
        "next": link(number + 1) if first + PERSON_PAGE_ROWS < count else "",
    }


@staff_view(role=VIEWER)
def person_why(request: HttpRequest, person_id: int) -> HttpResponse:
    profile = person_profile(person=person_by_id(site=request.site, person_id=person_id))
    return page(
        request,
        "portal/why.html",
        {"person": profile.person, "explanations": why_no_reward(profile=profile)},
    )


def _referral_page(
    request: HttpRequest,
    referral_id: int,
    *,
    form: StatusChangeForm | None = None,
    error: str = "",
    status=200,
) -> HttpResponse:
    referral = referral_for_site(site=request.site, ref=referral_id)
    details = referral_details(referral=referral, actor="staff")
    pipeline = pipeline_named(referral.campaign.pipeline)
    return page(
        request,
        "portal/referral.html",
        {
            "referral": referral,
            "details": details,
            "fraud_hits": [f for f in details.fraud_results if f.outcome != "pass"],
            "pipeline": pipeline,
            "actions": status_actions(pipeline, details.allowed_statuses),
            "coupon_lists": coupon_list_slugs(site=request.site),
            "form": form,
            "error": error,
        },
        status=status,
    )


@staff_view(role=VIEWER)
def referral(request: HttpRequest, referral_id: int) -> HttpResponse:
    return _referral_page(request, referral_id)


@require_POST
@staff_view(role=AGENT)
def referral_status(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = referral_for_site(site=request.site, ref=referral_id)
    form = StatusChangeForm(request.POST)
    if not form.is_valid():
        return _referral_page(request, referral_id, form=form, status=400)
    try:
        referral_set_status(
            referral=referral,
            status=form.cleaned_data["status"],
            actor=request.actor,
            reason=form.cleaned_data["reason"],
        )
    except VouchError as refusal:
        return _referral_page(request, referral_id, form=form, error=refusal.message, status=refusal.status)
    messages.success(request, f"Referral {referral.pk} is now {form.cleaned_data['status']}.")
    return redirect("portal:referral", referral_id=referral.pk)


@staff_view(role=VIEWER)
def email(request: HttpRequest, email_id: int) -> HttpResponse:
    found = email_for_site(site=request.site, email_id=email_id)
    steps = [
        ("Queued", found.created_at),
        ("Sent", found.sent_at),
        ("Delivered", found.delivered_at),
        ("Opened", found.opened_at),
        ("Clicked", found.clicked_at),
        ("Rejected", found.rejected_at),
    ]
    return page(request, "portal/email.html", {"email": found, "steps": steps})


@require_POST
@staff_view(role=AGENT)
def email_resend_now(request: HttpRequest, email_id: int) -> HttpResponse:
    copy = email_resend(email=email_for_site(site=request.site, email_id=email_id), actor=request.actor)
    messages.success(request, f"The email is queued to be sent again to {copy.to}.")
    return redirect("portal:email", email_id=copy.pk)
