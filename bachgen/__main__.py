"""``python -m bachgen`` is the ``bachgen`` command."""

import sys

from .cli import main

sys.exit(main())
