"""``python -m skinvariance``: the ``skinvariance`` command."""

import sys

from skinvariance.cli import main

if __name__ == "__main__":
    sys.exit(main())
