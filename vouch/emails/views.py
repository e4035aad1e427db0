"""The public unsubscribe page behind every email's link and `List-Unsubscribe` header."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from vouch.audit.services import ActorRef
from vouch.emails.rendering import unsubscribe_token_read
from vouch.people.models import Person
from vouch.people.privacy import person_unsubscribe


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation, because mail scanners follow links; POST unsubscribes.

    The POST needs no CSRF token: the signed token in the address is the permission,
    the only thing it can do is stop emails, and mail clients send RFC 8058's one-click
    `List-Unsubscribe-Post` without any cookie.
    """
    person_id = unsubscribe_token_read(token)
    person = Person.objects.select_related("site").filter(pk=person_id).first() if person_id else None
    if person is None:
        raise Http404("This unsubscribe link is not valid.")
    done = person.unsubscribed_at is not None
    if request.method == "POST" and not done:
        ip = request.META.get("REMOTE_ADDR", "")
        person_unsubscribe(
            person=person,
            actor=ActorRef(kind="person", label="the person, through an email's unsubscribe link", ip=ip),
        )
        done = True
    context = {"done": done, "email": person.email, "site_name": person.site.name}
    return render(request, "emails/unsubscribe.html", context)
