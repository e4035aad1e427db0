import json
import sys

from django.core.management.base import BaseCommand, CommandError
from pydantic import ValidationError

from vouch.audit.services import ActorRef
from vouch.campaigns.definition import CampaignDefinition
from vouch.campaigns.models import Campaign
from vouch.campaigns.services import campaign_create, campaign_update
from vouch.errors import VouchError
from vouch.sites.models import Site


class Command(BaseCommand):
    help = "Create or update a campaign of a site from its JSON form (a file, or - for standard input)."

    def add_arguments(self, parser):
        parser.add_argument("site")
        parser.add_argument("file")

    def handle(self, *args, site, file, **options):
        site_row = Site.objects.filter(slug=site).first()
        if site_row is None:
            raise CommandError(f"No site '{site}'.")
        raw = sys.stdin.read() if file == "-" else open(file, encoding="utf-8").read()
        try:
            definition = CampaignDefinition.model_validate_json(raw)
        except ValidationError as error:
            lines = [f"  {'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()]
            raise CommandError("The campaign is invalid:\n" + "\n".join(lines)) from error
        actor = ActorRef(kind="staff", label="vouch campaign (command line)")
        existing = Campaign.objects.filter(site=site_row, slug=definition.slug).first()
        try:
            if existing:
                campaign = campaign_update(campaign=existing, definition=definition, actor=actor)
            else:
                campaign = campaign_create(site=site_row, definition=definition, actor=actor)
        except VouchError as error:
            raise CommandError(error.message) from error
        self.stdout.write(json.dumps({"slug": campaign.slug, "version": campaign.version}))
