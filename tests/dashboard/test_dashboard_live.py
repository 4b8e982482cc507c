"""The dashboard in Chromium against a real manager: a running experiment, then view mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from nni_core.client import decode_metric
from tests.dashboard.conftest import Page, experiment_config
from tests.support import wait_for

pytestmark = pytest.mark.timeout(240)

ACTIONS = ["#concurrency", "#max-trials", "#max-duration", "#stop", "[data-apply]"]


def _final(trial: dict) -> float | None:
    data = trial.get("finalMetricData")
    return float(decode_metric(data[-1]["data"])) if data else None


def test_running_experiment_live_sort_curve_concurrency_stop_then_view(start_manager, tab, browser, tmp_path: Path) -> None:
    manager = start_manager("dashlive", "create")
    # one trial at a time, each ~1.5 s: the page must show new trials arriving
    manager.client.submit(experiment_config(tmp_path / "code", concurrency=1, max_trials=30))
    page = tab.page
    page.goto(manager.url + "/#/trials")
    page.wait_for_selector("#trial-table .vt-row")
    page.evaluate("window.__notReloaded = true")
    wait_for(lambda: int(page.get_attribute("#trial-table", "data-rows") or 0) >= 3, 60,
             "three trials in the table without reloading")
    assert page.evaluate("window.__notReloaded") is True
    # statuses change live: the first trial shows SUCCEEDED once it ended
    wait_for(lambda: "SUCCEEDED" in page.inner_text("#trial-table"), 30, "a SUCCEEDED badge")
    tab.screenshot("trials-running")

    # sort by metric: the header's first click sorts best-first (maximize) ...
    page.click(".vt-th[data-key='final']")
    finals = sorted((f for f in map(_final, manager.client.trials()) if f is not None), reverse=True)
    first_metric = float(page.inner_text("#trial-table .vt-row[data-i='0'] .vt-td.strong"))
    assert first_metric == pytest.approx(finals[0], rel=1e-5)
    assert page.get_attribute(".vt-th[data-key='final']", "aria-sort") == "descending"
    # ... the second click worst-first
    page.click(".vt-th[data-key='final']")
    assert page.get_attribute(".vt-th[data-key='final']", "aria-sort") == "ascending"
    first_metric = float(page.inner_text("#trial-table .vt-row[data-i='0'] .vt-td.strong"))
    finals = sorted(f for f in map(_final, manager.client.trials()) if f is not None)
    assert first_metric == pytest.approx(finals[0], rel=1e-5)

    # filter: only the rows that match stay
    page.fill("#filter", "status=RUNNING")
    page.wait_for_function("document.querySelector('#trial-count').textContent.startsWith('1 of')")
    assert [b.inner_text() for b in page.query_selector_all("#trial-table .vt-row .badge")] == ["RUNNING"]
    page.fill("#filter", "")

    # a trial's intermediate curve: as many points as the trial reported
    page.click("#trial-table .vt-row[data-i='0'] .mono")
    trial_id = page.inner_text("#trial-table .vt-row[data-i='0'] .mono")
    page.wait_for_selector("#trial-detail #trial-curve canvas")
    reported = [m for m in manager.client.metrics(trial_id) if m["type"] == "PERIODICAL"]
    assert len(reported) == 3
    assert page.get_attribute("#trial-curve", "data-points") == "3"
    assert f"#/trials/{trial_id}" in page.url
    page.wait_for_function("document.querySelector('#trial-log').textContent.includes('trial says hello')")
    tab.screenshot("trial-detail")
    # tick two trials for the intermediate-curves plot
    picked = [page.inner_text(f"#trial-table .vt-row[data-i='{i}'] .mono") for i in (0, 1)]
    for trial in picked:  # by id: trials still arriving re-order the rows between two clicks
        page.click(f"#trial-table .vt-row:has(.mono:text-is('{trial}')) input.sel")
    assert page.inner_text("#compare") == "Plot selected (2)"

    # change concurrency on the overview page; the manager applies it: three trials run at once
    page.click("nav.tabs a[data-page='overview']")
    page.wait_for_selector("#concurrency:not([disabled])")
    page.fill("#concurrency", "3")
    page.click("[data-apply='trialConcurrency']")
    wait_for(lambda: manager.client.profile()["params"]["trialConcurrency"] == 3, 10, "trialConcurrency == 3 over REST")
    wait_for(lambda: sum(t["status"] == "RUNNING" for t in manager.client.trials()) == 3, 30, "3 trials running at once")
    page.wait_for_function("/\\b3 running/.test(document.querySelector('#ov-concurrency').textContent)")
    tab.screenshot("overview")
    # the other limits, as nnictl update would set them
    page.fill("#max-trials", "25")
    page.click("[data-apply='maxTrialNumber']")
    page.fill("#max-duration", "2h")
    page.click("[data-apply='maxExperimentDuration']")
    wait_for(lambda: manager.client.profile()["params"].get("maxExperimentDuration") == 7200
             and manager.client.profile()["params"]["maxTrialNumber"] == 25, 10, "new limits over REST")
    page.wait_for_function("document.querySelector('#ov-trials').textContent.includes('/ 25')")

    # kill a running trial from its detail drawer
    running = [t["trialJobId"] for t in manager.client.trials() if t["status"] == "RUNNING"]
    page.evaluate(f"location.hash = '#/trials/{running[0]}'")
    page.wait_for_selector("#trial-detail #kill:not([disabled])")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#kill")
    wait_for(lambda: manager.client.trial(running[0])["status"] == "USER_CANCELED", 20, "the trial cancelled")
    page.wait_for_selector("#trial-detail .badge.st-user_canceled")
    assert page.is_disabled("#kill")

    page.click("nav.tabs a[data-page='plots']")
    page.wait_for_selector("#plot-curves[data-series='2']")
    assert all(trial_id in page.inner_text("#plot-curves") for trial_id in picked)
    assert "2 selected" in page.inner_text("#curves-note")
    assert page.evaluate("window.__notReloaded") is True  # all of the above without a reload
    page.wait_for_selector("#importance .bar-row", timeout=30000)
    assert int(page.get_attribute("#plot-parallel", "data-lines")) >= 4
    tab.screenshot("plots", full_page=True)
    assert tab.errors == []

    # stop from the page: the manager process exits and the page says it lost the manager
    page.goto(manager.url + "/#/overview")
    page.wait_for_selector("#stop:not([disabled])")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#stop")
    manager.proc.wait(40)
    page.wait_for_selector("#banner.error:not([hidden])")
    assert "does not answer" in page.inner_text("#banner")
    # the only errors allowed now: the page's polls refused by the stopped manager
    assert [e for e in tab.errors if "ERR_CONNECTION_REFUSED" not in e] == []

    # the same experiment in view mode, under a URL prefix: everything shown, every action disabled
    view = start_manager("dashlive", "view", url_prefix="board")
    view.client.submit({})
    assert view.client.check_status()["status"] == "VIEWED"
    trials = view.client.trials()
    tab.context.close()  # its polls of the stopped manager must not be counted below
    tab = Page(browser)
    page = tab.page
    page.goto(view.url + "/#/overview")
    page.wait_for_selector("#banner.info:not([hidden])")
    assert "View mode" in page.inner_text("#banner")
    page.wait_for_function("document.querySelector('#ov-trials').textContent.startsWith(String(%d))" % len(trials))
    for selector in ACTIONS:
        for element in page.query_selector_all(selector):
            assert element.is_disabled(), f"{selector} is enabled in view mode"
    assert page.is_visible("#readonly-note")
    assert page.evaluate("document.querySelector('base').getAttribute('href')") == "/board/"
    tab.screenshot("view-mode")
    # nothing changes in view mode: the page's polls are answered 304 (If-None-Match)
    page.wait_for_event("response", lambda r: "dashboard/v1/poll" in r.url and r.status == 304, timeout=15000)
    page.goto(view.url + f"/#/trials/{trials[0]['trialJobId']}")
    page.wait_for_selector("#trial-detail #kill")
    assert page.is_disabled("#kill")
    assert int(page.get_attribute("#trial-table", "data-rows")) == len(trials)
    assert tab.errors == []
    tab.context.close()
