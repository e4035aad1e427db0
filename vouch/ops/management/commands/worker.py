from django.core.management.base import BaseCommand

from vouch.worker import run_forever, run_once


class Command(BaseCommand):
    help = "Do due work (timed transitions, emails) until stopped; safe to run several."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="handle one batch of each kind and exit")

    def handle(self, *args, once, **options):
        if once:
            self.stdout.write(f"handled {run_once()} rows")
        else:
            run_forever()
