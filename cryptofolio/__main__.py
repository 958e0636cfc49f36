import sys

from cryptofolio.cli import main

sys.exit(main())
