"""Who may see and do what in the portal, checked on the server for every page and every POST.

Each view is wrapped in `staff_view(role=...)`: it requires a login, picks the site the user is
working on (a membership; the site switcher keeps the choice in the session), refuses a role
below the one the view needs with 403, and turns another site's object (a `NotFound` from a
selector) into a 404, so a URL never tells one site's staff what exists on another.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from vouch.audit.services import ActorRef
from vouch.errors import NotFound
from vouch.sites.models import Membership, Role

SITE_SESSION_KEY = "portal_site_id"
VIEWER, AGENT, ADMIN = Role.VIEWER, Role.AGENT, Role.ADMIN
RANK = {VIEWER: 0, AGENT: 1, ADMIN: 2}


def role_allows(role: str, needed: str) -> bool:
    return RANK.get(role, -1) >= RANK[needed]


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def staff_actor(request: HttpRequest) -> ActorRef:
    """The signed-in user as the actor that services audit."""
    user = request.user
    return ActorRef(kind="staff", label=user.get_username(), user_id=user.pk, ip=client_ip(request))


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the site chosen in the session, else the user's first one."""
    memberships = list(
        Membership.objects.filter(user=request.user).select_related("site").order_by("site__name", "site_id")
    )
    request.memberships = memberships
    chosen = request.session.get(SITE_SESSION_KEY)
    membership = next((m for m in memberships if m.site_id == chosen), None)
    if membership is None and memberships:
        membership = memberships[0]
        request.session[SITE_SESSION_KEY] = membership.site_id
    return membership


def staff_view(
    *, role: str = VIEWER, post_role: str | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """`role` is what reading the page needs; `post_role` (default: `role`) what a POST to it needs."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = current_membership(request)
            if membership is None:
                raise PermissionDenied("You are not a member of any site: ask an admin to add you.")
            needed = (post_role or role) if request.method == "POST" else role
            if not role_allows(membership.role, needed):
                raise PermissionDenied(f"This needs the {needed} role; you are {membership.role}.")
            request.site = membership.site
            request.membership = membership
            request.role = membership.role
            request.actor = staff_actor(request)
            try:
                return view(request, *args, **kwargs)
            except NotFound as error:
                raise Http404(error.message) from error

        wrapped.required_role = role
        wrapped.required_post_role = post_role or role
        return wrapped

    return decorate


def page(request: HttpRequest, template: str, context: dict | None = None, status: int = 200) -> HttpResponse:
    """Render a portal page with what every page needs to know about the user's role."""
    role = getattr(request, "role", VIEWER)
    return render(
        request,
        template,
        {
            "site": getattr(request, "site", None),
            "memberships": getattr(request, "memberships", []),
            "role": role,
            "can_act": role_allows(role, AGENT),
            "is_admin": role_allows(role, ADMIN),
            "mask": role == VIEWER,
            **(context or {}),
        },
        status=status,
    )
