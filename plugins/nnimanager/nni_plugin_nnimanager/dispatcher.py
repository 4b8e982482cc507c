"""Start NNI's tuner dispatcher beside NNI's manager, so that it is connected before the
experiment is submitted.

NNI's manager spawns its dispatcher (``python -m nni``) only when the experiment is submitted and
gives it 10 s to connect; ``import nni`` alone takes seconds, so on a busy machine the experiment
fails with "Tuner did not connect in 10 seconds". Started with ``--tuner-command-channel``, the
manager waits for an external dispatcher instead, and accepts its connection at any time. This
module is that dispatcher: it imports NNI while the manager starts, waits until the manager
listens, then runs NNI's own dispatcher ``main()``, and creates ``READY_FILE`` once the dispatcher
has connected. The launcher submits the experiment only after that.

    python -m nni_plugin_nnimanager.dispatcher EXPERIMENT_ID PORT READY_FILE EXP_PARAMS_BASE64
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path


def main() -> int:
    _experiment_id, port, ready_file, exp_params = sys.argv[1:5]
    import nni.__main__ as dispatcher_main  # the slow part, done while the manager starts
    from nni.runtime import msg_dispatcher_base

    deadline = time.monotonic() + 300
    while True:
        try:
            socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                print(f"the manager never listened on port {port}", file=sys.stderr)
                return 1
            time.sleep(0.02)

    connect = msg_dispatcher_base.MsgDispatcherBase.__init__

    def connect_then_mark_ready(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        connect(self, *args, **kwargs)  # NNI connects to the manager in the constructor
        Path(ready_file).write_text("connected\n")

    msg_dispatcher_base.MsgDispatcherBase.__init__ = connect_then_mark_ready
    sys.argv = [sys.argv[0], "--exp_params", exp_params]
    dispatcher_main.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
