"""``python -m tagdecide.curate``: the curate command on its own."""

import sys

from tagdecide.curate.command import main

if __name__ == "__main__":
    sys.exit(main())
