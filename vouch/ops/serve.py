"""`vouch run`: everything `make run` promises, in one process tree.

Migrates, loads the demo site on first run, collects static files, then serves
the API and share pages with gunicorn on 127.0.0.1:$PORT and runs `vouch worker`
beside it. Ctrl-C (or SIGTERM) stops both."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command


def serve() -> int:
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    first_run = not _database_has_sites()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if first_run:
        call_command("demo")
    port = os.getenv("PORT", "8000")
    bindir = os.path.dirname(sys.executable)
    children = [
        subprocess.Popen(
            [
                os.path.join(bindir, "gunicorn"),
                "vouch.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                os.getenv("WEB_CONCURRENCY", "2"),
                "--access-logfile",
                "-",
                # Long query strings get the API's own 422, not gunicorn's undocumented 414.
                "--limit-request-line",
                "0",
            ]
        ),
        subprocess.Popen([os.path.join(bindir, "vouch"), "worker"]),
    ]
    print(f"Vouch is serving http://127.0.0.1:{port}/ (API docs: /api/v1/docs). Ctrl-C stops it.", flush=True)
    return _wait(children)


def _database_has_sites() -> bool:
    from django.db import connection

    if "sites_site" not in connection.introspection.table_names():
        return False
    from vouch.sites.models import Site

    return Site.objects.exists()


def _wait(children: list[subprocess.Popen]) -> int:
    def stop(*_):
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    stop()
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
    return 0
