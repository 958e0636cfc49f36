"""``python -m cryptofolio <command> ...``: the console script."""

import sys

from cryptofolio.cli import main

sys.exit(main())
