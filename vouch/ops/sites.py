"""Which site a command-line command works on."""

from django.core.management.base import CommandError

from vouch.sites.models import Site


def command_site(slug: str) -> Site:
    """The site named by `--site`, or the only one; a `CommandError` that says what to give otherwise."""
    if slug:
        site = Site.objects.filter(slug=slug).first()
        if site is None:
            raise CommandError(f"No site '{slug}'.")
        return site
    sites = list(Site.objects.order_by("slug")[:2])
    if len(sites) != 1:
        raise CommandError("Say which site with --site <slug>." if sites else "There is no site yet.")
    return sites[0]
