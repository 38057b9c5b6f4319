"""Entry point: ``python3 -m gilgauge_bridge --script tools.py``."""

import sys

from .server import main

if __name__ == "__main__":
    sys.exit(main())
