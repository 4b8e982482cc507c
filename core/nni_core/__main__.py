"""``python -m nni_core`` is ``nni-core``."""

import sys

from nni_core.cli import main

sys.exit(main())
