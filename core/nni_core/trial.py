"""The trial SDK: what a trial script calls to get its parameters and report its metrics.

    import nni_core.trial as nni
    params = nni.get_next_parameter()
    nni.report_intermediate_result(0.5)
    nni.report_final_result({"default": 0.9, "loss": 0.1})

The same calls as NNI's ``nni`` package, stdlib only, and importing it loads nothing else of
nni_core (it takes a few milliseconds; ``import nni`` takes about a second). How it talks to
the manager, chosen from the environment the training service sets (NNI 3.0's variables):

* ``NNI_TRIAL_COMMAND_CHANNEL`` set: NNI 3.0's HTTP channel (PUT commands, long-poll GET for the
  parameters, asked only when the training service has not written ``parameter.cfg``). If the manager cannot be reached (it is restarting), metrics are appended to the
  file below instead, which the training service also reads;
* else ``NNI_PLATFORM`` set: the file protocol, ``$NNI_SYS_DIR/parameter.cfg`` and
  ``$NNI_SYS_DIR/.nni/metrics`` (records framed ``ME`` + 6-digit length + JSON + newline);
* neither: standalone, ``get_next_parameter()`` returns ``{}`` and metrics are printed.

Metrics are numbers or dicts with a ``default`` number, as in NNI.
"""

import os
import sys

# Nothing else at module level: trials pay for an import only when they use it (json on the first
# call, http.client only on the HTTP channel).

__all__ = [
    "get_current_parameter",
    "get_experiment_id",
    "get_next_parameter",
    "get_sequence_id",
    "get_trial_id",
    "report_final_result",
    "report_intermediate_result",
]

_record = None  # the parameter record received last (a dict)
_intermediate_seq = 0
PARAMETER_WAIT_S = 0.05  # file protocol: how often to look for a late parameter.cfg


def _env(name):
    value = os.environ.get(name)
    return value if value else None


def get_experiment_id():
    return _env("NNI_EXP_ID") or "STANDALONE"


def get_trial_id():
    return _env("NNI_TRIAL_JOB_ID") or "STANDALONE"


def get_sequence_id():
    try:
        return int(_env("NNI_TRIAL_SEQ_ID") or 0)
    except ValueError:
        return 0


def _mode():
    if _env("NNI_TRIAL_COMMAND_CHANNEL"):
        return "http"
    platform = _env("NNI_PLATFORM")
    return "file" if platform and platform != "unittest" else "standalone"


def _sys_dir():
    return _env("NNI_SYS_DIR") or os.getcwd()


# --- HTTP channel -------------------------------------------------------------------------------


def _request(method, url, body=None, timeout=60):
    """One HTTP/1.1 exchange on a fresh connection: (status, body bytes).

    A raw socket rather than http.client, which imports email, ssl and more: about 35 ms
    per trial process, several times the rest of this module.
    """
    import json
    import socket

    if not url.startswith("http://"):
        raise OSError(f"only http:// trial channels are supported, got {url!r}")
    authority, _, path = url[len("http://"):].partition("/")
    host, _, port = authority.rpartition(":") if authority.rpartition(":")[2].isdigit() else (authority, "", "80")
    payload = b"" if body is None else json.dumps(body).encode()
    head = (f"{method} /{path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
    with socket.create_connection((host.strip("[]"), int(port)), timeout) as sock:
        sock.sendall(head.encode("latin-1") + payload)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    response = b"".join(chunks)
    header, _, content = response.partition(b"\r\n\r\n")
    lines = header.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise OSError(f"not an HTTP response from {authority}: {response[:80]!r}") from None
    if any(line.lower().replace(b" ", b"") == b"transfer-encoding:chunked" for line in lines[1:]):
        content = _unchunk(content)
    return status, content


def _unchunk(data):
    out, position = [], 0
    while True:
        end = data.index(b"\r\n", position)
        size = int(data[position:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[end + 2:end + 2 + size])
        position = end + 2 + size + 2


def _http_parameter(url):
    import json

    _request("PUT", url, {"type": "request_parameter"})
    while True:
        status, data = _request("GET", url)
        if status == 200:
            command = json.loads(data)
            return json.loads(command["parameter"])
        if status == 410:  # the manager closed this trial's channel
            print("nni_core.trial: the trial command channel is closed", file=sys.stderr)
            return None
        if status != 408:
            raise OSError(f"trial command channel answered HTTP {status}")


# --- file protocol ------------------------------------------------------------------------------


def _written_parameter():
    """The record in parameter.cfg if it is there and complete, else None."""
    import json

    try:
        with open(os.path.join(_sys_dir(), "parameter.cfg"), encoding="utf-8") as file:
            record = json.loads(file.read())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _file_parameter():
    import json
    import time

    path = os.path.join(_sys_dir(), "parameter.cfg")
    requested = False
    while True:
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
            if text.strip():
                return json.loads(text)
        except FileNotFoundError:
            pass
        if not requested:  # tell a manager that writes parameters on demand (NNI's old protocol)
            _append_record(json.dumps({"trial_job_id": get_trial_id(), "type": "REQUEST_PARAMETER",
                                       "sequence": 0, "parameter_index": 0}))
            requested = True
        time.sleep(PARAMETER_WAIT_S)


def _append_record(payload):
    data = (payload + "\n").encode("utf-8")
    directory = os.path.join(_sys_dir(), ".nni")
    os.makedirs(directory, exist_ok=True)
    # one write() of a whole record on an O_APPEND file: a reader never sees records interleaved
    fd = os.open(os.path.join(directory, "metrics"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"ME%06d" % len(data) + data)
    finally:
        os.close(fd)


# --- the API ------------------------------------------------------------------------------------


def get_next_parameter():
    """This trial's parameters (a dict); ``{}`` when run standalone; None when the manager has
    closed the channel."""
    global _record
    mode = _mode()
    if mode == "http":
        # Training services write parameter.cfg before the trial starts: reading it saves two
        # requests to the manager per trial; the channel is asked only when it is missing.
        _record = _written_parameter()
        if _record is None:
            try:
                _record = _http_parameter(_env("NNI_TRIAL_COMMAND_CHANNEL") or "")
            except OSError:
                if not os.path.exists(os.path.join(_sys_dir(), "parameter.cfg")):
                    raise
                _record = _file_parameter()
    elif mode == "file":
        _record = _file_parameter()
    else:
        _record = {"parameter_id": None, "parameters": {}}
    return None if _record is None else _record.get("parameters")


def get_current_parameter(tag=None):
    if _record is None:
        return None
    parameters = _record.get("parameters")
    return parameters if tag is None else parameters[tag]


def _send(kind, sequence, value):
    import json

    metric = json.dumps({
        "parameter_id": _record.get("parameter_id") if _record else None,
        "trial_job_id": _env("NNI_TRIAL_JOB_ID"),
        "type": kind,
        "sequence": sequence,
        "value": json.dumps(value),
    })
    mode = _mode()
    if mode == "http":
        try:
            status, _ = _request("PUT", _env("NNI_TRIAL_COMMAND_CHANNEL") or "", {"type": "metric", "metric": metric})
            if status == 200:
                return
            reason = f"HTTP {status}"
        except OSError as error:
            reason = str(error)
        print(f"nni_core.trial: cannot reach the manager ({reason}); writing the metric to "
              f"{os.path.join(_sys_dir(), '.nni', 'metrics')}", file=sys.stderr)
        _append_record(metric)
    elif mode == "file":
        _append_record(metric)
    else:
        label = "Final result" if kind == "FINAL" else f"Intermediate result (index {sequence})"
        print(f"{label}: {value!r}")


def report_intermediate_result(metric):
    """A number, or a dict whose ``default`` is a number, reported while the trial runs."""
    global _intermediate_seq
    _send("PERIODICAL", _intermediate_seq, metric)
    _intermediate_seq += 1


def report_final_result(metric):
    """The trial's result: a number, or a dict whose ``default`` is a number."""
    _send("FINAL", 0, metric)
