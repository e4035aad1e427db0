from django.core.management.base import BaseCommand

from vouch.ops.demo import demo_load
from vouch.ops.demo_scale import demo_scale_load


class Command(BaseCommand):
    help = "Load a demo site (campaigns, people, shares, purchases, referrals, rewards) and print its logins."

    def add_arguments(self, parser):
        parser.add_argument("--site", default="demo", help="slug of the demo site (default: demo)")
        parser.add_argument("--seed", type=int, default=7, help="seed of the demo's random choices")
        parser.add_argument(
            "--referrals",
            type=int,
            default=0,
            help="generate a site at scale with this many referrals (bulk inserts, progress on stderr) "
            "instead of the small demo walked through the services",
        )

    def handle(self, *args, site, seed, referrals, **options):
        if referrals > 0:
            result = demo_scale_load(referrals=referrals, site_slug=site, seed=seed, out=self.stdout.write)
        else:
            result = demo_load(site_slug=site, seed=seed, out=self.stdout.write)
        if result is None:
            self.stdout.write("Demo site already loaded.")
