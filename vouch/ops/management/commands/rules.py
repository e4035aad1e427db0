"""`vouch rules backtest CAMPAIGN --rules FILE`: what proposed program rules would have
given on the campaign's history, next to what its current rules give. Changes nothing."""

import json

from django.core.management.base import BaseCommand, CommandError

from vouch.campaigns.models import Campaign
from vouch.campaigns.selectors import campaign_definition
from vouch.ops.sites import command_site
from vouch.rules.backtest import RulesFileError, backtest, proposed_definition, report_lines


class Command(BaseCommand):
    help = "Program rules: `backtest CAMPAIGN --rules FILE` replays the campaign under proposed rules."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="backtest")
        run = actions.add_parser("backtest", help="replay the campaign's history under the rules in FILE")
        run.add_argument("campaign", help="the campaign's slug")
        run.add_argument("--rules", required=True, help='a JSON file: a list of rules, or {"rules": [...]}')
        run.add_argument("--site", default="", help="the site's slug (needed when there are several)")

    def handle(self, *args, action, campaign, rules, site, **options):
        site_row = command_site(site)
        campaign_row = Campaign.objects.filter(site=site_row, slug=campaign).first()
        if campaign_row is None:
            raise CommandError(f"No campaign '{campaign}' on the site '{site_row.slug}'.")
        try:
            with open(rules, encoding="utf-8") as file:
                data = json.load(file)
        except OSError as error:
            raise CommandError(f"Cannot read {rules}: {error.strerror}.") from error
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{rules} is not JSON: line {error.lineno}, column {error.colno}: {error.msg}."
            ) from error
        try:
            proposed = proposed_definition(campaign_definition(campaign_row), data)
        except RulesFileError as error:
            raise CommandError(str(error)) from error
        report = backtest(campaign=campaign_row, proposed=proposed)
        for line in report_lines(report):
            self.stdout.write(line)
