"""Entry point: `python -m app --host 0.0.0.0 --port 8080`."""

import sys

from app.server import main

sys.exit(main())
