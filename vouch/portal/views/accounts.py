"""Signing in and out, and choosing the site to work on."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from vouch.portal.access import SITE_SESSION_KEY, VIEWER, staff_view
from vouch.portal.forms import LockingAuthenticationForm, SiteSwitchForm


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = LockingAuthenticationForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "portal:login"


@require_POST
@staff_view(role=VIEWER)
def site_switch(request: HttpRequest) -> HttpResponse:
    form = SiteSwitchForm(request.POST)
    if not form.is_valid() or form.cleaned_data["site"] not in {m.site_id for m in request.memberships}:
        return HttpResponseBadRequest("You are not a member of that site.")
    request.session[SITE_SESSION_KEY] = form.cleaned_data["site"]
    return redirect("portal:home")
