"""``python -m dashboard`` is the ``dashboard`` command."""

from dashboard.cli import main

raise SystemExit(main())
