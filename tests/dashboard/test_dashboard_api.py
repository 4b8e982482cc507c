"""The dashboard's routes and read endpoint on a real manager, and its importance maths in Chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from nni_core.client import decode_metric
from tests.dashboard.conftest import experiment_config
from tests.support import wait_for

pytestmark = pytest.mark.timeout(180)
POLL = "api/dashboard/v1/poll"


def _request(method: str, url: str, **kw) -> requests.Response:
    session = requests.Session()
    session.trust_env = False  # loopback only: no proxy from the environment
    return session.request(method, url, timeout=20, **kw)


def _get(url: str, **kw) -> requests.Response:
    return _request("GET", url, **kw)


def test_page_static_files_and_fallback_under_url_prefix(start_manager) -> None:
    manager = start_manager("dashroutes", "create", url_prefix="team/exp")
    base = manager.url  # http://127.0.0.1:PORT/team/exp
    for path in ("/", "/trials/deep/link", "/api/v1/nni/no-such-endpoint"):
        page = _get(base + path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<base href="/team/exp/">' in page.text, path
    script = _get(base + "/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    # vendored libraries ship with their licenses
    assert "MIT" in _get(base + "/static/vendor/uplot/LICENSE").text
    assert _get(base + "/static/vendor/uplot/uPlot.iife.min.js").status_code == 200
    assert _request("POST", base + "/nothing-here").status_code == 404
    # outside the prefix: the manager's own 404
    outside = _get(base.rsplit("/team/exp", 1)[0] + "/static/app.js")
    assert outside.status_code == 404


def test_poll_sends_changes_since_a_cursor_and_304_when_unchanged(start_manager, tmp_path: Path) -> None:
    manager = start_manager("dashpoll", "create")
    poll = f"{manager.url}/{POLL}"
    idle = _get(poll)  # before POST /experiment nothing moves
    assert idle.json()["full"] is True and idle.json()["trials"] == [] and idle.json()["status"] == "INITIALIZED"
    assert _get(poll, headers={"If-None-Match": idle.headers["ETag"]}).status_code == 304

    manager.client.submit(experiment_config(tmp_path / "code", concurrency=2, max_trials=4))
    first = wait_for(lambda: (b := _get(poll).json())["total"] >= 1 and b, 60, "a first trial")
    assert first["full"] is True and first["columns"][:3] == ["id", "seq", "status"]
    known = {row[0]: row for row in first["trials"]}
    wait_for(lambda: manager.client.check_status()["status"] == "DONE", 90, "the experiment to finish")
    delta = _get(poll, params={"since": first["cursor"]}).json()
    assert delta["full"] is False
    # the delta holds exactly the trials that are new or changed since the cursor
    for row in delta["trials"]:
        assert row[0] not in known or known[row[0]] != row
    known.update({row[0]: row for row in delta["trials"]})
    rest = {t["trialJobId"]: t for t in manager.client.trials()}
    assert set(known) == set(rest) and len(rest) == 4
    names = delta["paramNames"]
    for trial_id, row in known.items():
        trial = rest[trial_id]
        assert row[2] == trial["status"] == "SUCCEEDED"
        params = json.loads(trial["hyperParameters"][0])["parameters"]
        assert dict(zip(names, row[5])) == params
        assert row[6] == pytest.approx(float(decode_metric(trial["finalMetricData"][0]["data"])))
    # a cursor from another manager process gets everything
    assert _get(poll, params={"since": "0000.1"}).json()["full"] is True


IMPORTANCE_CHECKS = """async () => {
  const m = await import('./static/importance.js');
  const rng = m.mulberry32(3);
  // y = a + 2b: variances 1/12 and 4/12, so a explains 20 %, b 80 %, c nothing
  const X = [], y = [];
  for (let i = 0; i < 1500; i++) { const r = [rng(), rng(), rng()]; X.push(r); y.push(r[0] + 2 * r[1]); }
  const additive = m.fanova(X, y, [[0, 1], [0, 1], [0, 1]], { nTrees: 16 });
  // y = xor(a > .5, b > .5): no main effect at all, only the interaction
  const X2 = [], y2 = [];
  for (let i = 0; i < 1500; i++) { const r = [rng(), rng()]; X2.push(r); y2.push((r[0] > .5) !== (r[1] > .5) ? 1 : 0); }
  const xor = m.fanova(X2, y2, [[0, 1], [0, 1]], { nTrees: 16 });
  // one hand-made tree: x0 <= 0.25 -> 0, else 1, on [0, 1]^2; V = 0.25 * 0.75, all of it from x0
  const tree = { feature: [0, -1, -1], thr: [0.25, 0, 0], left: [1, -1, -1], right: [2, -1, -1], value: [0, 0, 1] };
  const exact = m.treeAnova(tree, [[0, 1], [0, 1]]);
  const enc = m.encode(
    [{ params: { lr: 0.001, opt: 'sgd' }, final: 1 }, { params: { lr: 0.1, opt: 'adam' }, final: 2 }],
    ['lr', 'opt'],
    { lr: { _type: 'loguniform', _value: [0.0001, 1] }, opt: { _type: 'choice', _value: ['adam', 'sgd', 'rmsprop'] } });
  return { additive, xor, exact, enc };
}"""


def test_importance_is_functional_anova(start_manager, tab) -> None:
    manager = start_manager("dashimp", "create")
    tab.page.goto(manager.url + "/")
    result = tab.page.evaluate(IMPORTANCE_CHECKS)
    a, b, c = result["additive"]["importance"]
    assert a == pytest.approx(0.2, abs=0.04) and b == pytest.approx(0.8, abs=0.04) and c < 0.02
    assert result["additive"]["mainEffects"] > 0.95
    assert result["xor"]["mainEffects"] < 0.1  # the forest finds interaction, not main effects
    assert result["exact"]["total"] == pytest.approx(0.1875)
    assert result["exact"]["main"] == pytest.approx([0.1875, 0.0])
    enc = result["enc"]
    assert enc["names"] == ["lr", "opt"] and enc["scales"] == ["log", "choice"]
    assert enc["domain"][1] == [-0.5, 2.5]  # three choices, equal measure
    assert enc["domain"][0] == pytest.approx([-9.2103404, 0.0])  # ln 1e-4 .. ln 1
    assert [row[1] for row in enc["X"]] == [1, 0]
    assert tab.errors == []


def test_nested_choices_flatten_to_named_columns() -> None:
    from nni_core.dashboard.api import flatten

    params = {"lr": 0.1, "opt": {"_name": "sgd", "momentum": 0.9, "nesterov": {"_name": "yes", "k": 2}}}
    assert flatten(params) == {"lr": 0.1, "opt": "sgd", "opt/momentum": 0.9, "opt/nesterov": "yes",
                               "opt/nesterov/k": 2}
