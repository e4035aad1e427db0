from vouch.emails.models import Email
from vouch.errors import NotFound
from vouch.sites.models import Site


def email_for_site(*, site: Site, email_id: int) -> Email:
    email = Email.objects.filter(site=site, pk=email_id).first()
    if email is None:
        raise NotFound("email_not_found", f"No email {email_id} on this site.")
    return email
