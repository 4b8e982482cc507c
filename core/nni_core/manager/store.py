"""The experiment's SQLite database, ``<expDir>/db/nni.sqlite`` (WAL mode, append-only).

NNI 3.0's three tables, with the same columns so NNI's own tools can read the file:

* ``ExperimentProfile``: one row per save of the profile (``revision`` 1, 2, ...);
* ``TrialJobEvent``: one row per trial event (status changes, ``USER_TO_CANCEL``,
  ``ADD_CUSTOMIZED``, ``ADD_RESUMED``, ``IMPORT_DATA``);
* ``MetricData``: one row per accepted metric.

plus ``TrialProcess``: what the training service returned when it started a trial (pid, process
start time, GPUs), so that ``resume`` can re-attach to trials still running.

Every write is its own transaction (autocommit). A metric the manager acknowledges to a trial
(the HTTP channel) is committed with ``synchronous=FULL`` (the WAL is fsynced, so the row and every
row before it survive even a power loss): the manager answers only after ``add_metric`` returns.
Other rows use ``NORMAL``: durable when the manager process dies, 30 times cheaper (0.1 ms
against 3.4 ms a commit here); so do metrics a training service read from a place that keeps
them (the trial's ``.nni/metrics``, a job log), which nobody waits for.
The engine commits metrics from a second thread; one connection may be shared because SQLite is
built serialized (``sqlite3.threadsafety == 3``), which ``Store`` checks.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any, Iterator

_SCHEMA = """
create table if not exists TrialJobEvent (timestamp integer, trialJobId text, event text, data text,
                                          logPath text, sequenceId integer, message text, environmentId text);
create index if not exists TrialJobEvent_trialJobId on TrialJobEvent(trialJobId);
create index if not exists TrialJobEvent_event on TrialJobEvent(event);
create table if not exists MetricData (timestamp integer, trialJobId text, parameterId text, type text,
                                       sequence integer, data text);
create index if not exists MetricData_trialJobId on MetricData(trialJobId);
create index if not exists MetricData_type on MetricData(type);
create table if not exists ExperimentProfile (params text, id text, execDuration integer, startTime integer,
                                              endTime integer, logDir text, nextSequenceId integer, revision integer);
create index if not exists ExperimentProfile_id on ExperimentProfile(id);
create table if not exists TrialProcess (trialJobId text, timestamp integer, info text);
"""


class Store:
    """One experiment's database. ``readonly`` opens it for ``view`` and never writes."""

    def __init__(self, path: str, readonly: bool = False) -> None:
        if sqlite3.threadsafety != 3:  # pragma: no cover - every common build is serialized
            raise RuntimeError("nni-core's store needs an SQLite built thread-safe (serialized)")
        self.path = path
        self.readonly = readonly
        if readonly:
            if not os.path.exists(path):
                raise FileNotFoundError(path)
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                      check_same_thread=False)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("pragma journal_mode=WAL")
            self.db.execute("pragma synchronous=NORMAL")
            self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    # --- writing ----------------------------------------------------------------------------------

    def save_profile(self, profile: dict[str, Any]) -> None:
        self.db.execute(
            "insert into ExperimentProfile values (?,?,?,?,?,?,?,?)",
            (json.dumps(profile["params"]), profile["id"], profile["execDuration"], profile["startTime"],
             profile.get("endTime"), profile["logDir"], profile["nextSequenceId"], profile["revision"]),
        )

    def add_event(self, timestamp: int, trial_id: str, event: str, data: str | None = None,
                  log_path: str | None = None, sequence_id: int | None = None, message: str | None = None,
                  environment_id: str | None = None) -> None:
        self.db.execute("insert into TrialJobEvent values (?,?,?,?,?,?,?,?)",
                        (timestamp, trial_id, event, data, log_path, sequence_id, message, environment_id))

    def add_metric(self, record: dict[str, Any], fsync: bool = True) -> None:
        row = (record["timestamp"], record["trialJobId"], record["parameterId"], record["type"],
               record["sequence"], record["data"])
        if self.db.in_transaction or not fsync:  # a caller's batch (its commit decides), or NORMAL
            self.db.execute("insert into MetricData values (?,?,?,?,?,?)", row)
            return
        self.db.execute("pragma synchronous=FULL")
        try:
            self.db.execute("insert into MetricData values (?,?,?,?,?,?)", row)
        finally:
            self.db.execute("pragma synchronous=NORMAL")

    def add_process(self, trial_id: str, timestamp: int, info: dict[str, Any]) -> None:
        self.db.execute("insert into TrialProcess values (?,?,?)", (trial_id, timestamp, json.dumps(info)))

    # --- reading ----------------------------------------------------------------------------------

    def latest_profile(self) -> dict[str, Any] | None:
        try:
            row = self.db.execute(
                "select params, id, execDuration, startTime, endTime, logDir, nextSequenceId, revision "
                "from ExperimentProfile order by revision desc limit 1").fetchone()
        except sqlite3.OperationalError:  # a database without our tables
            return None
        if row is None:
            return None
        profile = {"params": json.loads(row[0]), "id": row[1], "execDuration": row[2], "startTime": row[3],
                   "logDir": row[5], "nextSequenceId": row[6], "revision": row[7]}
        if row[4] is not None:
            profile["endTime"] = row[4]
        return profile

    def events(self) -> Iterator[tuple]:
        return self.db.execute(
            "select timestamp, trialJobId, event, data, logPath, sequenceId, message, environmentId "
            "from TrialJobEvent order by rowid")

    def metrics(self) -> Iterator[dict[str, Any]]:
        for row in self.db.execute("select timestamp, trialJobId, parameterId, type, sequence, data "
                                   "from MetricData order by rowid"):
            yield {"timestamp": row[0], "trialJobId": row[1], "parameterId": row[2], "type": row[3],
                   "sequence": row[4], "data": row[5]}

    def processes(self) -> dict[str, dict[str, Any]]:
        """The latest start record of each trial."""
        result: dict[str, dict[str, Any]] = {}
        try:
            rows = self.db.execute("select trialJobId, info from TrialProcess order by rowid").fetchall()
        except sqlite3.OperationalError:
            return result
        for trial_id, info in rows:
            result[trial_id] = json.loads(info)
        return result
