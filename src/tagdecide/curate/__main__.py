"""``python -m tagdecide.curate ...``: the same as ``tagdecide curate ...``."""

import sys

from tagdecide.cli import main

if __name__ == "__main__":
    sys.exit(main(["curate", *sys.argv[1:]]))
