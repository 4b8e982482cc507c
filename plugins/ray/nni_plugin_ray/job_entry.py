"""The entrypoint of a trial's Ray job: runs the trial command and relays what it reports.

Runs on whichever node Ray placed the job, with only the standard library (the training service
ships this file's source in the job's environment, so a node needs nothing of nni-core
installed). What it does:

1. makes a node-local trial folder and writes ``parameter.cfg`` there (NNI's file protocol), so
   both ``import nni`` and nni-core's trial SDK find their parameters without reaching the manager;
2. runs ``/bin/bash -c <trial command>`` with NNI's environment, the experiment's interpreter first
   on ``PATH``;
3. relays, as single lines on its own stdout (which Ray keeps as the job's log and streams to the
   manager), the trial's stdout, stderr, ``trial.log`` and every ``.nni/metrics`` record, then the
   exit status. Lines are ``RELAY_PREFIX`` + JSON; anything else in the job log is Ray's own.

Inputs (environment): NNI_RAY_COMMAND, NNI_RAY_PARAMETER (the parameter record, JSON),
NNI_EXP_ID, NNI_TRIAL_JOB_ID, plus NNI's other variables which pass through to the trial.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

RELAY_PREFIX = "@nni-ray@ "
POLL_S = 0.1

_lock = threading.Lock()


def emit(kind, **fields):
    fields["k"] = kind
    line = RELAY_PREFIX + json.dumps(fields) + "\n"
    with _lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def pump(pipe, kind):
    """Relay one pipe of the trial line by line (long lines in 64 KiB pieces)."""
    for chunk in iter(lambda: pipe.readline(65536), b""):
        emit(kind, d=chunk.decode("utf-8", errors="replace"))
    pipe.close()


class FileTail:
    """New bytes of a file that only grows."""

    def __init__(self, path):
        self.path = path
        self.offset = 0

    def read(self):
        try:
            with open(self.path, "rb") as file:
                file.seek(self.offset)
                data = file.read()
        except OSError:
            return b""
        self.offset += len(data)
        return data


class MetricsTail(FileTail):
    """Complete ``ME``-framed records of ``.nni/metrics`` (NNI's framing: kind, 6 digits, payload)."""

    def __init__(self, path):
        super().__init__(path)
        self.buffer = b""

    def records(self):
        self.buffer += self.read()
        out = []
        while len(self.buffer) >= 8 and self.buffer[2:8].isdigit():
            length = int(self.buffer[2:8])
            if len(self.buffer) < 8 + length:
                break
            kind = self.buffer[:2].decode("ascii", errors="replace")
            out.append((kind, self.buffer[8:8 + length].decode("utf-8", errors="replace").rstrip("\n")))
            self.buffer = self.buffer[8 + length:]
        return out


def relay_files(metrics, log):
    for kind, payload in metrics.records():
        if kind == "ME":
            emit("metric", d=payload)
    data = log.read()
    if data:
        emit("log", d=data.decode("utf-8", errors="replace"))


def main():
    trial_id = os.environ.get("NNI_TRIAL_JOB_ID", "trial")
    experiment = os.environ.get("NNI_EXP_ID", "experiment")
    trial_dir = os.path.join(tempfile.gettempdir(), "nni-ray", experiment, trial_id)
    shutil.rmtree(trial_dir, ignore_errors=True)
    os.makedirs(trial_dir)
    parameter_path = os.path.join(trial_dir, "parameter.cfg")
    with open(parameter_path + ".tmp", "w", encoding="utf-8") as file:
        file.write(os.environ.get("NNI_RAY_PARAMETER", "{}"))
    os.replace(parameter_path + ".tmp", parameter_path)

    env = dict(os.environ)
    for name in ("NNI_RAY_COMMAND", "NNI_RAY_PARAMETER", "NNI_RAY_WRAPPER",
                 "NNI_TRIAL_COMMAND_CHANNEL", "SDK_PROCESS"):
        env.pop(name, None)
    # NNI_PLATFORM=local makes the SDKs write .nni/metrics (any other value prints to stdout).
    env.update(NNI_PLATFORM="local", NNI_SYS_DIR=trial_dir, NNI_OUTPUT_DIR=trial_dir)
    # A bare `python` in the trial command must be the experiment's interpreter, not the node's.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")

    stopping = []
    # Ray stops a job by signalling its process group, which includes the trial: just note it
    # and wait for the trial to finish so its last records are relayed.
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))

    # NNI_RAY_CWD: the code folder on a shared filesystem (else Ray's copy of it is the cwd)
    cwd = os.environ.get("NNI_RAY_CWD") or None
    env.pop("NNI_RAY_CWD", None)
    child = subprocess.Popen(["/bin/bash", "-c", os.environ["NNI_RAY_COMMAND"]], env=env, cwd=cwd,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    emit("start", pid=child.pid, host=os.uname().nodename)
    pumps = [threading.Thread(target=pump, args=(child.stdout, "out"), daemon=True),
             threading.Thread(target=pump, args=(child.stderr, "err"), daemon=True)]
    for thread in pumps:
        thread.start()
    metrics = MetricsTail(os.path.join(trial_dir, ".nni", "metrics"))
    log = FileTail(os.path.join(trial_dir, "trial.log"))
    while child.poll() is None:
        relay_files(metrics, log)
        time.sleep(POLL_S)
    for thread in pumps:
        thread.join(5)
    relay_files(metrics, log)
    code = child.returncode
    emit("exit", code=code if code >= 0 else None, signal=-code if code < 0 else None)
    shutil.rmtree(trial_dir, ignore_errors=True)
    for folder in (os.path.dirname(trial_dir), os.path.dirname(os.path.dirname(trial_dir))):
        try:
            os.rmdir(folder)  # only when no other trial of the experiment is on this node
        except OSError:
            break
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
