"""The `vouch` command for operators: Django's management commands, plus `vouch run`
(migrate, demo data on first run, web server and worker)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vouch.settings")
    if sys.argv[1:2] == ["run"]:
        import django

        django.setup()
        from vouch.ops.serve import serve

        sys.exit(serve())
    from django.core.management import execute_from_command_line

    execute_from_command_line(["vouch", *sys.argv[1:]])


if __name__ == "__main__":
    main()
