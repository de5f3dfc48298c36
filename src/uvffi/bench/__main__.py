"""``python -m uvffi.bench``."""

import sys

from . import main

sys.exit(main())
