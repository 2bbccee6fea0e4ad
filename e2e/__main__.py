"""`python -m e2e [options]`: the in-cluster comparison (e2e/cli.py reads the options)."""

import sys

from e2e.cli import main

sys.exit(main(sys.argv[1:]))
