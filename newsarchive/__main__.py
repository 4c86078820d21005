"""`python -m newsarchive`: the command line."""

import sys

from newsarchive.cli import main

if __name__ == "__main__":
    sys.exit(main())
