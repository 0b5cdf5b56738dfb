"""``python -m urp.cli``: the ``urp`` command without the console script installed."""

import sys

from urp.cli import main

sys.exit(main())
