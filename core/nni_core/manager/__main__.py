"""``python -m nni_core.manager``: run one experiment's manager (see ``server.main``)."""

import gc
import sys

# Start-up creates many objects that live as long as the process; collecting on the way costs
# about 7% of it. ``server`` turns the collector back on once it serves (after ``gc.freeze``).
gc.disable()

from nni_core.manager.server import main  # noqa: E402

sys.exit(main())
