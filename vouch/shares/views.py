"""The public share link: the friend's landing page and claim form."""

import uuid

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from vouch.audit.services import ActorRef
from vouch.campaigns.selectors import campaign_definition
from vouch.errors import VouchError
from vouch.pipelines import pipeline_named
from vouch.shares.services import offer_claim, share_for_code, visit_record

VISITOR_COOKIE = "vouch_visitor"
ONE_YEAR = 365 * 24 * 3600


class ClaimForm(forms.Form):
    email = forms.EmailField(label="Your email", max_length=254)


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def share_landing(request: HttpRequest, code: str) -> HttpResponse:
    try:
        share = share_for_code(code=code)
    except VouchError as error:
        raise Http404(error.message) from error
    visitor = request.COOKIES.get(VISITOR_COOKIE) or str(uuid.uuid4())
    offer, error = None, ""
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            offer = offer_claim(
                share=share,
                email=form.cleaned_data["email"],
                visitor_uuid=visitor,
                ip=_client_ip(request),
                actor=ActorRef(kind="api", label="share link", ip=_client_ip(request)),
            )
        except VouchError as refused:
            error = refused.message
    elif request.method == "GET":
        visit_record(
            share=share,
            visitor_uuid=visitor,
            ip=_client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    context = {
        "share": share,
        "campaign": share.campaign,
        "offer_text": campaign_definition(share.campaign).friend_offer.description,
        "next_step": pipeline_named(share.campaign.pipeline).next_step,
        "form": form,
        "offer": offer,
        "error": error,
    }
    response = render(request, "shares/landing.html", context)
    response.set_cookie(VISITOR_COOKIE, visitor, max_age=ONE_YEAR, samesite="Lax", httponly=True)
    return response
