from django.core.management.base import BaseCommand, CommandError

from vouch.errors import VouchError
from vouch.sites.services import api_key_create, site_create


class Command(BaseCommand):
    help = "Create a site and print a new API key as the last line."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args, slug, name, **options):
        try:
            site = site_create(slug=slug, name=name)
        except VouchError as error:
            raise CommandError(error.message) from error
        _, raw = api_key_create(site=site)
        self.stdout.write(f"Created site {site.slug}. Its API key (shown once):")
        self.stdout.write(raw)
