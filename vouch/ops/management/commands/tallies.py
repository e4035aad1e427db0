from django.core.management.base import BaseCommand

from vouch.ops.sites import command_site
from vouch.people.models import Person
from vouch.people.tallies import TALLY_NAMES, tallies_fold, tallies_recount, tally_drift


class Command(BaseCommand):
    help = (
        "The people's counts (the person page's header): fold the pending changes, compare every "
        "person's tally with the tables, and with --recount count them again from the tables."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site", default="", help="the site's slug (needed when there are several)")
        parser.add_argument(
            "--recount",
            action="store_true",
            help="replace the site's tallies with counts read from the tables",
        )

    def handle(self, *args, site, recount, **options):
        found = command_site(site)
        folded = 0
        while step := tallies_fold():
            folded += step
        self.stdout.write(f"folded {folded} pending changes")
        if recount:
            self.stdout.write(f"recounted {tallies_recount(site_id=found.pk)} people with counted rows")
        drift = tally_drift(site_id=found.pk)
        people = Person.objects.filter(site=found).count()
        if not drift:
            self.stdout.write(f"all {people} people's counts match the tables")
            return
        for person_id, (tallied, counted) in list(drift.items())[:20]:
            differs = ", ".join(
                f"{n} {tallied[n]}≠{counted[n]}" for n in TALLY_NAMES if tallied[n] != counted[n]
            )
            self.stdout.write(f"person {person_id}: {differs}")
        self.stdout.write(
            f"{len(drift)} of {people} people's counts differ from the tables: run with --recount"
        )
