"""The remote agent: a stdlib-only Python program that runs on a remote machine, one per connection.

Its source is sent in the SSH command line (``python3 -u -c SOURCE``), so nothing is installed
on the machine. It runs, watches and kills every trial of one machine over a single SSH channel
(sshd's MaxSessions caps channels per connection; NNI opened one per trial and failed at 8+).

Protocol: JSON lines. The manager writes commands on stdin, the agent answers with events on
stdout.

    {"op": "launch", "id", "dir", "code", "command", "env", "parameter", "offset"}
        start a trial in ``dir`` (its code linked from ``code``) unless it was started before;
        then follow it. Idempotent, so after a reconnect the manager simply sends it again.
    {"op": "kill", "id", "grace"}    SIGINT to the trial's process group, SIGKILL after grace s.
    {"op": "ping"}                   answered by {"ev": "pong"}.

    {"ev": "started", "id", "pid", "start_ms", "attached"}
    {"ev": "data", "id", "offset", "b64"}   bytes of ``.nni/metrics`` from ``offset``
    {"ev": "ended", "id", "exit", "signal", "end_ms"}   after all its metric bytes
    {"ev": "log", "id", "name", "offset", "b64"}  then {"ev": "logs", "id"}: its output files
    {"ev": "error", "id", "message"}

Trials survive the agent: each runs under a wrapper in its own session (``setsid``), the wrapper
records the exit status in ``<dir>/.nni-core/exit``, so a later agent (after the connection
dropped) re-attaches from the manager's byte offset and reports the right ending.
Python 3.6+ on the remote side; keep this file free of newer syntax.
"""

import base64
import errno
import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import time

STATE = ".nni-core"
METRICS = os.path.join(".nni", "metrics")
CHUNK = 512 * 1024
POLL = 0.05
LOG_FILES = ("trial.stdout", "trial.stderr", "trial.log")

# The wrapper survives SIGINT/SIGTERM sent to the group (trapped, so the trial still gets the
# default action) and writes the trial's exit status; the agent writes it when the group is
# SIGKILLed. bash, as NNI runs trial commands with bash.
WRAPPER = (
    'trap : INT TERM HUP\n'
    '/bin/bash -c "$1"\n'
    'code=$?\n'
    'echo $code > "$2/exit.tmp" && mv "$2/exit.tmp" "$2/exit"\n'
)


def now_ms():
    return int(time.time() * 1000)


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as file:
        file.write(text)
    os.rename(tmp, path)


def read_text(path):
    try:
        with open(path) as file:
            return file.read().strip()
    except (IOError, OSError):
        return None


def link_tree(source, target):
    """Give the trial its own folder of the experiment's code: hard links (no data copied);
    a copy where links are not possible."""
    import shutil
    for folder, dirs, files in os.walk(source):
        rel = os.path.relpath(folder, source)
        dest = target if rel == "." else os.path.join(target, rel)
        if not os.path.isdir(dest):
            os.makedirs(dest)
        for name in files:
            src, dst = os.path.join(folder, name), os.path.join(dest, name)
            if os.path.lexists(dst):
                continue
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)


def alive(pid):
    """True while the wrapper process runs (a zombie counts as ended)."""
    try:
        with open("/proc/%d/stat" % pid) as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (IOError, OSError):
        pass
    if os.path.isdir("/proc/self"):
        return False
    try:
        os.kill(pid, 0)
        return True
    except OSError as error:
        return error.errno == errno.EPERM


class Trial(object):
    def __init__(self, op):
        self.id = op["id"]
        self.dir = op["dir"]
        self.state = os.path.join(self.dir, STATE)
        self.offset = int(op.get("offset") or 0)
        self.pid = None
        self.kill_at = None  # monotonic time of the SIGKILL, once a kill was asked for
        self.popen = None

    def launch(self, op):
        if not os.path.isdir(self.state):
            os.makedirs(self.state)
        try:  # the marker makes launch idempotent: never start a trial twice
            os.close(os.open(os.path.join(self.state, "launched"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except OSError as error:
            if error.errno != errno.EEXIST:
                raise
            self.pid = int(read_text(os.path.join(self.state, "pid")) or 0) or None
            started = read_text(os.path.join(self.state, "start_ms"))
            emit({"ev": "started", "id": self.id, "pid": self.pid, "attached": True,
                  "start_ms": int(started) if started else None})
            return
        if op.get("code"):
            link_tree(op["code"], self.dir)
        if op.get("parameter") is not None:
            write_atomic(os.path.join(self.dir, "parameter.cfg"), op["parameter"])
        env = dict(os.environ)
        env.update(op.get("env") or {})
        out = open(os.path.join(self.dir, "trial.stdout"), "wb")
        err = open(os.path.join(self.dir, "trial.stderr"), "wb")
        try:
            self.popen = subprocess.Popen(
                ["/bin/sh", "-c", WRAPPER, "nni-core-trial", op["command"], os.path.abspath(self.state)],
                cwd=self.dir, env=env, stdin=subprocess.DEVNULL if hasattr(subprocess, "DEVNULL") else None,
                stdout=out, stderr=err, start_new_session=True)
        finally:
            out.close()
            err.close()
        self.pid = self.popen.pid
        start = now_ms()
        write_atomic(os.path.join(self.state, "pid"), str(self.pid))
        write_atomic(os.path.join(self.state, "start_ms"), str(start))
        emit({"ev": "started", "id": self.id, "pid": self.pid, "attached": False, "start_ms": start})

    def kill(self, grace):
        if self.pid is None or os.path.exists(os.path.join(self.state, "exit")):
            return
        write_atomic(os.path.join(self.state, "killed"), "1")
        self.signal(signal.SIGINT)
        self.kill_at = time.monotonic() + grace

    def signal(self, number):
        try:
            os.killpg(self.pid, number)
        except OSError:
            pass

    def pump(self):
        """Send new metric bytes; True once the trial has ended and everything was sent."""
        self.send_metrics()
        exit_path = os.path.join(self.state, "exit")
        if self.popen is not None:
            self.popen.poll()  # reap our own child so it never lingers as a zombie
        code = read_text(exit_path)
        if code is None:
            if self.pid is None:
                write_atomic(exit_path, "lost")  # marker without pid: the launch never happened
            elif alive(self.pid):
                if self.kill_at is not None and time.monotonic() >= self.kill_at:
                    self.signal(signal.SIGKILL)
                    self.kill_at = time.monotonic() + 5
                return False
            elif read_text(exit_path) is None:  # the wrapper itself was killed (SIGKILL)
                write_atomic(exit_path, "-9" if os.path.exists(os.path.join(self.state, "killed")) else "lost")
            code = read_text(exit_path)
        self.send_metrics()
        exit_code, signum = None, None
        killed = os.path.exists(os.path.join(self.state, "killed"))
        if code and code.lstrip("-").isdigit():
            number = int(code)
            if number < 0:
                signum = -number
            elif killed and number > 128:
                signum = number - 128
            else:
                exit_code = number
        try:
            end = int(os.path.getmtime(exit_path) * 1000)
        except OSError:
            end = now_ms()
        emit({"ev": "ended", "id": self.id, "exit": exit_code, "signal": signum, "end_ms": end})
        self.send_logs()
        return True

    def send_logs(self):
        """The trial's output files, so the manager keeps a copy beside its local records."""
        for name in LOG_FILES:
            try:
                with open(os.path.join(self.dir, name), "rb") as file:
                    offset = 0
                    while True:
                        data = file.read(CHUNK)
                        if not data and offset:
                            break
                        emit({"ev": "log", "id": self.id, "name": name, "offset": offset,
                              "b64": base64.b64encode(data).decode("ascii")})
                        offset += len(data)
                        if not data:
                            break
            except (IOError, OSError):
                pass
        emit({"ev": "logs", "id": self.id})

    def send_metrics(self):
        path = os.path.join(self.dir, METRICS)
        try:
            with open(path, "rb") as file:
                file.seek(self.offset)
                while True:
                    data = file.read(CHUNK)
                    if not data:
                        break
                    emit({"ev": "data", "id": self.id, "offset": self.offset,
                          "b64": base64.b64encode(data).decode("ascii")})
                    self.offset += len(data)
        except (IOError, OSError):
            pass


def main():
    root = os.environ.get("NNI_CORE_REMOTE_ROOT") or os.path.expanduser("~/nni-experiments")
    if not os.path.isdir(root):
        os.makedirs(root)
    emit({"ev": "hello", "root": os.path.abspath(root), "python": sys.executable, "pid": os.getpid()})
    # A trial's end is the critical path (its slot goes to the next trial): SIGCHLD from our own
    # trials wakes the loop at once. Metrics and re-attached trials are polled every POLL s.
    wake_read, wake_write = os.pipe()
    for fd in (wake_read, wake_write):
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda number, frame: None)
    trials = {}
    stdin = sys.stdin.fileno()
    pending = b""
    while True:
        ready, _, _ = select.select([stdin, wake_read], [], [], POLL if trials else 1.0)
        if wake_read in ready:
            try:
                os.read(wake_read, 4096)
            except OSError:
                pass
        if stdin in ready:
            data = os.read(stdin, 65536)
            if not data:
                return  # the connection is gone; trials keep running on their own
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    handle(json.loads(line.decode("utf-8")), trials)
        for trial_id in list(trials):
            try:
                done = trials[trial_id].pump()
            except Exception as error:  # one broken trial folder must not stop the others
                emit({"ev": "error", "id": trial_id, "message": "%s: %s" % (type(error).__name__, error)})
                done = False
            if done:
                del trials[trial_id]


def handle(op, trials):
    kind = op.get("op")
    if kind == "ping":
        emit({"ev": "pong"})
    elif kind == "launch":
        trial = trials.get(op["id"])
        if trial is None:
            trial = Trial(op)
            try:
                trial.launch(op)
            except Exception as error:
                emit({"ev": "error", "id": trial.id, "message": "launch failed: %s: %s" % (type(error).__name__, error)})
                try:
                    write_atomic(os.path.join(trial.state, "exit"), "lost")
                except (IOError, OSError):
                    emit({"ev": "ended", "id": trial.id, "exit": None, "signal": None, "end_ms": now_ms()})
                    return
            trials[trial.id] = trial
    elif kind == "kill":
        trial = trials.get(op["id"])
        if trial is not None:
            trial.kill(float(op.get("grace", 5)))


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a closed connection ends the agent quietly
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
