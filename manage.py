#!/usr/bin/env python
"""Django's command-line utility."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.base")
    if sys.argv[1:2] != ["runserver"]:
        # An operator's command: the JSON audit lines belong to the servers' logs, not this output.
        os.environ.setdefault("AUDIT_LOG_LINES", "false")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
