"""The portal's idle timeout without a write on every page.

A staff session ends `SESSION_COOKIE_AGE` after its last request. Django keeps that by
saving the session on every request (`SESSION_SAVE_EVERY_REQUEST`): an UPDATE and a
commit for each page read. Here a session is saved again only when its last save is
`SESSION_REFRESH_SECONDS` old, so the timeout counts from the last request to within that
interval (a session ends at most that much sooner than it would), and reading pages
writes at most once a minute.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from vouch import clock

REFRESHED_KEY = "_refreshed_at"


class SessionRefreshMiddleware:
    """Below SessionMiddleware: marks a signed-in session modified when it is due a new
    expiry, so SessionMiddleware saves it (and sends the cookie) on this response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.session_key is None or session.is_empty():
            return response
        now = clock.now().timestamp()
        if not 0 <= now - session.get(REFRESHED_KEY, 0) < settings.SESSION_REFRESH_SECONDS:
            session[REFRESHED_KEY] = now
        return response
