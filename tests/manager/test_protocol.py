"""The trial file protocol helpers and the trial SDK, without a manager."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from nni_core.training_service import MetricsFileReader, encode_metrics_record, write_parameter_file

# NNI 3.0's SDK wrote exactly these bytes (trial protocol §6.2, captured).
NNI_RECORD = ('{"parameter_id": 3, "trial_job_id": "leg01", "type": "PERIODICAL", "sequence": 0, '
              '"value": "15.0"}')


def test_metrics_reader_is_incremental(tmp_path: Path) -> None:
    reader = MetricsFileReader(str(tmp_path))
    assert reader.read() == []  # no file yet
    framed = encode_metrics_record(NNI_RECORD)
    assert framed.startswith(b"ME000099{")
    (tmp_path / ".nni").mkdir()
    metrics = tmp_path / ".nni" / "metrics"
    metrics.write_bytes(framed[:5])  # a writer in the middle of a record
    assert reader.read() == []
    with metrics.open("ab") as file:
        file.write(framed[5:40])
    assert reader.read() == []
    with metrics.open("ab") as file:
        file.write(framed[40:] + encode_metrics_record('{"x": "é"}'))
    assert reader.read() == [("ME", NNI_RECORD), ("ME", '{"x": "é"}')]
    assert reader.read() == []


def test_metrics_reader_stops_at_a_corrupt_header(tmp_path: Path) -> None:
    (tmp_path / ".nni").mkdir()
    (tmp_path / ".nni" / "metrics").write_bytes(encode_metrics_record("{}") + b"garbage!" + encode_metrics_record("{}"))
    reader = MetricsFileReader(str(tmp_path))
    assert reader.read() == [("ME", "{}")]
    assert len(reader.errors) == 1 and "bad record header" in reader.errors[0]


def test_parameter_file_is_written_whole(tmp_path: Path) -> None:
    record = {"parameter_id": 9, "parameters": {"a": 1}}
    path = write_parameter_file(str(tmp_path / "trial"), record)
    assert json.loads(Path(path).read_text()) == record
    assert os.listdir(tmp_path / "trial") == ["parameter.cfg"]  # no temp file left behind


def _sdk(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NNI_")}
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                          timeout=60, check=True)


def test_sdk_file_protocol_round_trip(tmp_path: Path) -> None:
    write_parameter_file(str(tmp_path), {"parameter_id": 4, "parameters": {"lr": 0.5}})
    code = ("import nni_core.trial as t; p = t.get_next_parameter(); t.report_intermediate_result(p['lr']);"
            "t.report_final_result({'default': 2.5, 'loss': 1}); print(t.get_trial_id(), t.get_sequence_id())")
    result = _sdk(code, {"NNI_PLATFORM": "local", "NNI_SYS_DIR": str(tmp_path), "NNI_TRIAL_JOB_ID": "abc12",
                         "NNI_TRIAL_SEQ_ID": "7"})
    assert result.stdout.split() == ["abc12", "7"]
    records = [json.loads(payload) for _, payload in MetricsFileReader(str(tmp_path)).read()]
    assert records == [
        {"parameter_id": 4, "trial_job_id": "abc12", "type": "PERIODICAL", "sequence": 0, "value": "0.5"},
        {"parameter_id": 4, "trial_job_id": "abc12", "type": "FINAL", "sequence": 0,
         "value": '{"default": 2.5, "loss": 1}'},
    ]


def test_sdk_standalone() -> None:
    result = _sdk("import nni_core.trial as t; print(t.get_next_parameter(), t.get_experiment_id());"
                  "t.report_final_result(1.5)", {})
    assert result.stdout.splitlines() == ["{} STANDALONE", "Final result: 1.5"]


def test_sdk_import_loads_nothing_else() -> None:
    result = _sdk("import sys, nni_core.trial; print(sorted(m for m in sys.modules "
                  "if m.startswith(('nni', 'pluggy', 'json', 'http', 'attrs'))))", {})
    assert result.stdout.strip() == "['nni_core', 'nni_core.trial']"


def test_sdk_reads_written_parameters_without_asking_the_channel(tmp_path: Path) -> None:
    """With parameter.cfg written by the training service, the only request a trial makes is
    its metric; without it, the parameters come over the channel (PUT request, GET)."""
    import http.server
    import threading

    requests_seen: list[tuple[str, str]] = []

    class Channel(http.server.BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self) -> None:  # noqa: N802
            data = self.rfile.read(int(self.headers["Content-Length"]))
            requests_seen.append(("PUT", json.loads(data)["type"]))
            self._answer(200)

        def do_GET(self) -> None:  # noqa: N802
            requests_seen.append(("GET", ""))
            record = {"parameter_id": 7, "parameters": {"lr": 0.25}}
            self._answer(200, json.dumps({"type": "parameter", "parameter": json.dumps(record)}).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Channel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"NNI_TRIAL_COMMAND_CHANNEL": f"http://127.0.0.1:{server.server_address[1]}/env/e/t1",
               "NNI_SYS_DIR": str(tmp_path), "NNI_TRIAL_JOB_ID": "t1", "NNI_PLATFORM": "local"}
        code = "import nni_core.trial as t; p = t.get_next_parameter(); t.report_final_result(p['lr']); print(p)"
        assert _sdk(code, env).stdout.strip() == "{'lr': 0.25}"
        assert requests_seen == [("PUT", "request_parameter"), ("GET", ""), ("PUT", "metric")]

        requests_seen.clear()
        write_parameter_file(str(tmp_path), {"parameter_id": 3, "parameters": {"lr": 0.5}})
        assert _sdk(code, env).stdout.strip() == "{'lr': 0.5}"
        assert requests_seen == [("PUT", "metric")]
    finally:
        server.shutdown()
        server.server_close()


def test_a_start_reported_after_submission_survives_a_restart(tmp_path: Path) -> None:
    """``RUNNING`` with the parameters is the launch; ``RUNNING`` without them is the training
    service reporting the real start later (a Ray job): the rebuilt trial starts then."""
    from nni_core.manager.state import ExperimentState

    record = json.dumps({"parameter_id": 0, "parameters": {"x": 1}})
    events = [(1000, "t1", "RUNNING", record, "/log", 0, None, "ray"),
              (4000, "t1", "RUNNING", None, "/log", 0, None, "ray"),
              (9000, "t1", "SUCCEEDED", None, "/log", 0, None, "ray")]
    state = ExperimentState("e1", str(tmp_path), "view")
    state.replay(events, [])
    [trial] = state.trial_jobs()
    assert (trial["startTime"], trial["endTime"], trial["status"]) == (4000, 9000, "SUCCEEDED")
    assert json.loads(trial["hyperParameters"][0])["parameters"] == {"x": 1}
