"""``python -m nni_core.manager``: run one experiment's manager (see ``server.main``)."""

import sys

from nni_core.manager.server import main

sys.exit(main())
