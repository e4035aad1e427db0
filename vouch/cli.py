"""The `vouch` command for operators: Django's management commands plus `vouch run`."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vouch.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["vouch", *sys.argv[1:]])


if __name__ == "__main__":
    main()
