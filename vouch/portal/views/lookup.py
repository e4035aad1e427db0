"""Finding and reading: home, search, person, referral details, email details, "why no reward?"."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from vouch.emails.selectors import email_for_site
from vouch.emails.services import email_resend
from vouch.errors import VouchError
from vouch.people.selectors import PageAt, person_profile, person_with_counts
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
# The person page's tabs, each its own request (`?tab=<name>`, Referrals without one): the
# header and the lists that tab shows, one page of each, never the other tabs' rows.
PERSON_TABS = {
    "referrals": ("Referrals", ("advocate", "friend")),
    "rewards": ("Rewards", ("rewards",)),
    "emails": ("Emails", ("emails",)),
    "offers": ("Offers", ("offers", "shares")),
    "shares": ("Shares", ("shares",)),
    "events": ("Purchases/Events", ("events",)),
    "activity": ("Activity", ()),
}
DEFAULT_TAB = "referrals"
HEADER_COUNTS = ("advocate", "friend", "rewards", "given", "emails")


@staff_view(role=VIEWER)
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    """The person's header and one tab (`?tab=`), a page of each of its lists (see _page_at)."""
    tab = request.GET.get("tab", DEFAULT_TAB)
    if tab not in PERSON_TABS:
        tab = DEFAULT_TAB
    lists = PERSON_TABS[tab][1]
    found, counts = person_with_counts(site=request.site, person_id=person_id, names=HEADER_COUNTS + lists)
    pages = {name: _page_at(request, name, counts[name]) for name in lists}
    profile = person_profile(
        person=found, limit=PERSON_PAGE_ROWS, pages={name: at for name, (_, at) in pages.items()}, lists=lists
    )
    base = reverse("portal:person", args=[found.pk])
    return page(
        request,
        "portal/person.html",
        {
            "profile": profile,
            "person": profile.person,
            "tab": tab,
            "tabs": [
                (name, label, base if name == DEFAULT_TAB else f"{base}?tab={name}")
                for name, (label, _) in PERSON_TABS.items()
            ],
            "activity": person_activity(person=found, limit=PERSON_PAGE_ROWS) if tab == "activity" else [],
            "counts": {name: f"{n:,}" for name, n in counts.items()},
            "pagers": {
                name: _pager(request, tab, name, number, counts[name], profile.rows(name))
                for name, (number, _) in pages.items()
            },
        },
    )


PAGE_KEYS = ("page", "after", "before", "oldest")


def _last_page(count: int) -> int:
    return max(1, -(-count // PERSON_PAGE_ROWS))


def _row_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else None


def _page_at(request: HttpRequest, name: str, count: int) -> tuple[int, PageAt]:
    """The page number of one list and where its rows start. The pager's links carry the page
    number and the row to seek from (`<list>_after`, `<list>_before`, `<list>_oldest`); a page
    number alone, as typed, is an offset."""
    last = _last_page(count)
    raw = request.GET.get(f"{name}_page", "1")
    number = min(max(int(raw), 1), last) if raw.isdigit() and len(raw) < 9 else 1
    offset = (number - 1) * PERSON_PAGE_ROWS
    if request.GET.get(f"{name}_oldest"):
        return last, PageAt(
            offset=(last - 1) * PERSON_PAGE_ROWS, oldest=count - (last - 1) * PERSON_PAGE_ROWS
        )
    after, before = (_row_id(request.GET.get(f"{name}_{key}")) for key in ("after", "before"))
    return number, PageAt(offset=offset, after=after, before=None if after else before)


def _pager(request: HttpRequest, tab: str, name: str, number: int, count: int, rows: list) -> dict:
    """Where this page of one list starts and ends, and the links to the newest page, its
    neighbours (seeking from this page's first or last row) and the oldest page."""

    def link(n: int, **seek: object) -> str:
        query = request.GET.copy()
        for key in PAGE_KEYS:
            query.pop(f"{name}_{key}", None)
        query["tab"] = tab
        if n > 1:
            query[f"{name}_page"] = str(n)
        for key, value in seek.items():
            query[f"{name}_{key}"] = str(value)
        return f"?{query.urlencode()}#{tab}"

    first = (number - 1) * PERSON_PAGE_ROWS
    last_page = _last_page(count)
    newer, older = number > 1 and rows, number < last_page and rows
    return {
        "first": f"{first + 1:,}" if count else "0",
        "last": f"{min(first + PERSON_PAGE_ROWS, count):,}",
        "shown": f"{count:,}",
        "many": count > PERSON_PAGE_ROWS,
        "newest": link(1) if number > 2 else "",
        "previous": (link(number - 1, before=rows[0].pk) if number > 2 else link(1)) if newer else "",
        "next": link(number + 1, after=rows[-1].pk) if older else "",
        "oldest": link(last_page, oldest=1) if number < last_page - 1 else "",
    }


@staff_view(role=VIEWER)
def person_why(request: HttpRequest, person_id: int) -> HttpResponse:
    profile = person_profile(
        person=person_by_id(site=request.site, person_id=person_id), lists=("advocate", "friend")
    )
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
