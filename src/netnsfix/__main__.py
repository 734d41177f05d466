"""Allow ``python -m netnsfix``."""

from netnsfix.cli import main

raise SystemExit(main())
