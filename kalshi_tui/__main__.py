"""`python -m kalshi_tui` is the same as the `kalshi-tui` command."""

import sys

from kalshi_tui.cli import main

sys.exit(main())
