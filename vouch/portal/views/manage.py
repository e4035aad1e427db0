"""Admins' pages: campaigns with their fraud settings, delays and limits, and the site's staff."""

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from pydantic import ValidationError

from vouch.campaigns.selectors import campaign_definition, campaign_for_site, campaign_search
from vouch.campaigns.services import campaign_update
from vouch.errors import VouchError
from vouch.fraud.checks import CHECK_LABELS, CHECKS, DEFAULT_ACTIONS
from vouch.pipelines import pipeline_named
from vouch.portal.access import ADMIN, VIEWER, page, staff_view
from vouch.portal.forms import (
    CampaignJsonForm,
    CampaignSettingsForm,
    MemberAddForm,
    MemberRoleForm,
    pydantic_errors,
)
from vouch.portal.selectors import site_members
from vouch.portal.services import membership_add, membership_for_site, membership_remove, membership_set_role

CAMPAIGN_LIST_LIMIT = 500


@staff_view(role=VIEWER)
def campaigns(request: HttpRequest) -> HttpResponse:
    found = campaign_search(
        site=request.site, query=request.GET.get("q", "")[:200], limit=CAMPAIGN_LIST_LIMIT
    )
    return page(request, "portal/campaigns.html", {"campaigns": found, "q": request.GET.get("q", "")})


@staff_view(role=VIEWER)
def campaign(request: HttpRequest, slug: str) -> HttpResponse:
    found = campaign_for_site(site=request.site, slug=slug)
    definition = campaign_definition(found)
    actions = definition.fraud.actions()
    checks = [(CHECK_LABELS[c], actions.get(c) or DEFAULT_ACTIONS[c], c not in actions) for c in CHECKS]
    return page(
        request,
        "portal/campaign.html",
        {
            "campaign": found,
            "definition": definition,
            "pipeline": pipeline_named(definition.pipeline),
            "checks": checks,
            "incentives": [
                (role, incentive)
                for role, incentive in (
                    ("Advocate", definition.incentives.advocate),
                    ("Friend", definition.incentives.friend),
                )
            ],
        },
    )


@staff_view(role=ADMIN)
def campaign_settings(request: HttpRequest, slug: str) -> HttpResponse:
    found = campaign_for_site(site=request.site, slug=slug)
    definition = campaign_definition(found)
    form = CampaignSettingsForm(request.POST or None, definition=definition)
    if request.method == "POST" and form.is_valid():
        try:
            campaign_update(campaign=found, definition=form.new_definition(), actor=request.actor)
        except VouchError as refusal:
            form.add_error(None, refusal.message)
        except ValidationError as invalid:
            for where, message in pydantic_errors(invalid):
                form.add_error(None, f"{where}: {message}")
        else:
            messages.success(request, "Fraud settings, delays and limits saved.")
            return redirect("portal:campaign", slug=slug)
    return page(
        request,
        "portal/campaign_settings.html",
        {"campaign": found, "form": form},
        status=400 if form.is_bound else 200,
    )


@staff_view(role=ADMIN)
def campaign_json(request: HttpRequest, slug: str) -> HttpResponse:
    found = campaign_for_site(site=request.site, slug=slug)
    if request.method == "POST":
        form = CampaignJsonForm(request.POST)
        if form.is_valid():
            try:
                campaign_update(
                    campaign=found, definition=form.cleaned_data["definition"], actor=request.actor
                )
            except VouchError as refusal:
                form.add_error(None, refusal.message)
            else:
                messages.success(request, "Campaign definition saved.")
                return redirect("portal:campaign", slug=slug)
    else:
        form = CampaignJsonForm(initial={"definition": json.dumps(found.definition, indent=2)})
    return page(
        request,
        "portal/campaign_json.html",
        {"campaign": found, "form": form, "field_errors": getattr(form, "field_errors", [])},
        status=400 if form.is_bound else 200,
    )


@staff_view(role=ADMIN)
def staff(request: HttpRequest) -> HttpResponse:
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = membership_add(
                site=request.site,
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
                actor=request.actor,
            )
        except VouchError as refusal:
            form.add_error("username", refusal.message)
        else:
            messages.success(request, f"{added.user.username} is now {added.role} on {request.site.name}.")
            return redirect("portal:staff")
    return page(
        request,
        "portal/staff.html",
        {
            "members": site_members(site=request.site),
            "form": form,
            "roles": MemberRoleForm.base_fields["role"].choices,
        },
        status=400 if form.is_bound else 200,
    )


def _staff_refused(request: HttpRequest, message: str) -> HttpResponse:
    return page(
        request,
        "portal/staff.html",
        {
            "members": site_members(site=request.site),
            "form": MemberAddForm(),
            "roles": MemberRoleForm.base_fields["role"].choices,
            "error": message,
        },
        status=409,
    )


@require_POST
@staff_view(role=ADMIN)
def staff_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = membership_for_site(site=request.site, membership_id=membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _staff_refused(request, "Choose a role: admin, agent or viewer.")
    try:
        membership_set_role(membership=membership, role=form.cleaned_data["role"], actor=request.actor)
    except VouchError as refusal:
        return _staff_refused(request, refusal.message)
    messages.success(request, f"{membership.user.username} is now {form.cleaned_data['role']}.")
    return redirect("portal:staff")


@require_POST
@staff_view(role=ADMIN)
def staff_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = membership_for_site(site=request.site, membership_id=membership_id)
    if request.POST.get("confirm") != "yes":
        return _staff_refused(request, f"Tick the box to confirm removing {membership.user.username}.")
    try:
        membership_remove(membership=membership, actor=request.actor)
    except VouchError as refusal:
        return _staff_refused(request, refusal.message)
    messages.success(request, f"{membership.user.username} no longer works on {request.site.name}.")
    return redirect("portal:staff")
