"""The dashboard's trials page with 10,000 trials: time until it is interactive in headless Chromium.

A stored experiment of ``--trials`` finished trials (4 hyperparameters, 10 intermediate results and
a final metric each) is written through the manager's own store module, opened by the real manager
in view mode, and the page ``#/trials`` is loaded ``--runs`` times in a fresh browser tab. The
page marks itself ready (``window.__dashboardReadyAt``, ms since navigation start) once the table
rows and the final-metric chart are drawn from the full trial list. Also timed: a sort and a
filter of the whole table (click to next frame), the first full poll and an unchanged poll (304).

NNI 3.0's web UI is opened on the same database (its manager reads the same SQLite schema), and
timed until its trial table shows rows, when ``--nni`` is given and the NNI 3.0 environment is
found (see nni_env.py). Run from the repository root:

    .venv/bin/python bench/dashboard_10k.py [--trials 10000] [--runs 5] [--nni]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 # Debian's Chromium starts its omnibox popup (a WebUI renderer loading ~300 modules)
                 # with every new browser context: browser chrome, not the page, and on two cores it
                 # takes CPU from the page being timed. Playwright's own defaults stay in this list.
                 "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup,"
                 "AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
                 "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,"
                 "ThirdPartyStoragePartitioning,AvoidCorsURLLoaderRestartOnRedirect,OptimizationHints,"
                 "NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch"]
SPACE = {"lr": {"_type": "loguniform", "_value": [1e-4, 0.1]},
         "units": {"_type": "choice", "_value": [16, 32, 64, 128]},
         "dropout": {"_type": "uniform", "_value": [0, 0.5]},
         "optimizer": {"_type": "choice", "_value": ["adam", "sgd", "rmsprop"]}}


def write_experiment(experiments_dir: Path, exp_id: str, n: int) -> None:
    """A finished experiment of ``n`` trials, written through nni_core.manager.store."""
    from nni_core.manager.store import Store

    exp_dir = experiments_dir / exp_id
    store = Store(str(exp_dir / "db" / "nni.sqlite"))
    rnd = random.Random(0)
    t0 = int(time.time() * 1000) - n * 1000 - 60_000
    params = {"experimentName": f"bench-{n}", "searchSpace": SPACE, "trialCommand": "python3 train.py",
              "trialCodeDirectory": str(exp_dir), "trialConcurrency": 8, "maxTrialNumber": n,
              "tuner": {"name": "TPE", "classArgs": {"optimize_mode": "maximize"}},
              "trainingService": {"platform": "local", "trialCommand": "python3 train.py",
                                  "trialCodeDirectory": str(exp_dir)}}
    for i in range(n):
        p = {"lr": math.exp(rnd.uniform(math.log(1e-4), math.log(0.1))), "units": rnd.choice([16, 32, 64, 128]),
             "dropout": rnd.uniform(0, 0.5), "optimizer": rnd.choice(["adam", "sgd", "rmsprop"])}
        acc = (0.97 - 0.05 * abs(math.log10(p["lr"]) + 2.5) - 0.02 * (p["units"] == 16)
               - 0.05 * p["dropout"] ** 2 - 0.01 * (p["optimizer"] == "sgd") + rnd.gauss(0, 0.005))
        tid = f"t{i:05d}"
        record = {"parameter_id": i, "parameter_source": "algorithm", "parameters": p, "parameter_index": 0}
        start = t0 + i * 1000
        log_path = str(exp_dir / "environments" / "local-env" / "trials" / tid)
        store.add_event(start, tid, "WAITING", json.dumps(record), log_path, i, None, "local-env")
        store.add_event(start + 10, tid, "RUNNING", None, log_path, i, None, "local-env")
        for k in range(10):
            store.add_metric({"timestamp": start + 100 * k, "trialJobId": tid, "parameterId": str(i),
                              "type": "PERIODICAL", "sequence": k,
                              "data": json.dumps(json.dumps(round(acc * (1 - 0.6 ** (k + 1)), 6)))})
        store.add_metric({"timestamp": start + 990, "trialJobId": tid, "parameterId": str(i), "type": "FINAL",
                          "sequence": 0, "data": json.dumps(json.dumps(round(acc, 6)))})
        store.add_event(start + 1000, tid, "SUCCEEDED", None, log_path, i, None, "local-env")
    store.save_profile({"params": params, "id": exp_id, "execDuration": n, "startTime": t0,
                        "endTime": t0 + n * 1000, "logDir": str(exp_dir), "nextSequenceId": n, "revision": 1})
    store.close()


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


def start_nni_core(experiments_dir: Path, exp_id: str) -> tuple[subprocess.Popen, str]:
    info = experiments_dir / exp_id / "manager.json"
    proc = subprocess.Popen([sys.executable, "-m", "nni_core.manager", "--port", "0", "--experiment-id", exp_id,
                             "--action", "view", "--experiments-directory", str(experiments_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: info.exists() or proc.poll() is not None, 60, "manager.json")
    url = json.loads(info.read_text())["url"]
    import requests

    requests.post(f"{url}/api/v1/nni/experiment", json={}, timeout=60).raise_for_status()
    return proc, url


def start_nni30(experiments_dir: Path, exp_id: str) -> tuple[subprocess.Popen, str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from nni_env import nni_python

    python = nni_python()
    node_dir = subprocess.run([str(python), "-c", "import nni_node, os; print(os.path.dirname(nni_node.__file__))"],
                              capture_output=True, text=True, check=True).stdout.strip()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # NNI's web UI waits on experiment-metadata, which needs the experiment in NNI's registry
    home = experiments_dir / "nni-home"
    (home / "nni-experiments").mkdir(parents=True, exist_ok=True)
    (home / "nni-experiments" / ".experiment").write_text(json.dumps({exp_id: {
        "id": exp_id, "port": port, "startTime": int(time.time() * 1000), "endTime": "N/A", "status": "VIEWED",
        "platform": "local", "experimentName": exp_id, "tag": [], "pid": None, "webuiUrl": [],
        "logDir": str(experiments_dir), "prefixUrl": None}}, indent=4))
    proc = subprocess.Popen([os.path.join(node_dir, "node"), "--max-old-space-size=4096", "main.js", "--port", str(port),
                             "--experiment-id", exp_id, "--action", "view", "--experiments-directory",
                             str(experiments_dir), "--log-level", "error", "--python-interpreter", str(python)],
                            cwd=node_dir, env={**os.environ, "HOME": str(home)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import requests

    url = f"http://127.0.0.1:{port}"

    def ready():
        try:
            return requests.get(f"{url}/api/v1/nni/check-status", timeout=2).headers.get("content-type", "").startswith("application/json")
        except requests.RequestException:
            return False
    wait_for(ready, 60, "NNI 3.0 manager")
    requests.post(f"{url}/api/v1/nni/experiment", json={}, timeout=120)
    return proc, url


def measure_nni_core(browser, url: str, runs: int, n: int) -> dict:
    loads, sorts, filters, fetched, marks, busy = [], [], [], [], [], []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(f"{url}/#/trials")
        page.wait_for_function("document.body.dataset.ready === 'trials'", timeout=60000)
        loads.append(page.evaluate("window.__dashboardReadyAt"))
        # main-thread work of the renderer (tasks, scripts): what the page costs, less the time
        # it waited for a CPU on a busy machine
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        busy.append(metrics["TaskDuration"] * 1000)
        fetched.append(page.evaluate("""Math.min(...performance.getEntriesByType('resource')
            .filter((e) => e.name.includes('dashboard/v1/poll')).map((e) => e.responseEnd))"""))
        marks.append(page.evaluate("""Object.fromEntries([
            ...performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime)]),
            ['modules loaded', Math.round(Math.max(...performance.getEntriesByType('resource')
                .filter((e) => e.name.includes('/static/')).map((e) => e.responseEnd)))]])"""))
        rows = int(page.get_attribute("#trial-table", "data-rows"))
        points = int(page.get_attribute("#metric-chart", "data-points"))
        if rows != n or points != n:
            raise SystemExit(f"page shows {rows} rows and {points} chart points, expected {n}")
        # click -> handler sorts 10k rows and redraws; measured to the next animation frame
        sorts.append(page.evaluate("""() => new Promise((done) => { const t0 = performance.now();
            document.querySelector(".vt-th[data-key='final']").click();
            requestAnimationFrame(() => done(performance.now() - t0)); })"""))
        filters.append(page.evaluate("""() => new Promise((done) => { const f = document.querySelector('#filter');
            const t0 = performance.now(); f.value = 'units=64 metric>0.9'; f.dispatchEvent(new Event('input'));
            requestAnimationFrame(() => done(performance.now() - t0)); })"""))
        if errors:
            raise SystemExit(f"console errors: {errors}")
        context.close()
    return {"ready_ms": loads, "sort_ms": sorts, "filter_ms": filters, "fetched_ms": fetched, "marks": marks, "busy_ms": busy}


def measure_nni30(browser, url: str, runs: int) -> list[float]:
    """NNI 3.0's web UI: navigation start until its trial table shows rows (/detail page)."""
    times = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.goto(f"{url}/detail", wait_until="commit", timeout=120000)
        page.wait_for_selector(".ms-DetailsRow", timeout=600000)
        times.append(page.evaluate("performance.now()"))
        context.close()
    return times


def screenshots(browser, url: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    page.goto(f"{url}/#/trials")
    page.wait_for_function("document.body.dataset.ready === 'trials'")
    page.click(".vt-th[data-key='final']")
    page.screenshot(path=str(folder / "dashboard-trials.png"))
    page.goto(f"{url}/#/plots")
    page.wait_for_selector("#importance .bar-row", timeout=120000)
    page.screenshot(path=str(folder / "dashboard-plots.png"), full_page=True)
    page.close()


def poll_costs(url: str) -> dict:
    import requests

    session = requests.Session()
    session.trust_env = False
    out = {}
    t = time.perf_counter()
    full = session.get(f"{url}/api/dashboard/v1/poll")
    out["poll_full_ms"] = (time.perf_counter() - t) * 1000
    out["poll_full_bytes"] = len(full.content)
    t = time.perf_counter()
    again = session.get(f"{url}/api/dashboard/v1/poll", headers={"If-None-Match": full.headers["ETag"]})
    out["poll_304_ms"] = (time.perf_counter() - t) * 1000
    assert again.status_code == 304, again.status_code
    t = time.perf_counter()
    jobs = session.get(f"{url}/api/v1/nni/trial-jobs")
    out["trial_jobs_ms"] = (time.perf_counter() - t) * 1000
    out["trial_jobs_bytes"] = len(jobs.content)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nni", action="store_true", help="also time NNI 3.0's web UI on the same database")
    parser.add_argument("--screenshots", type=Path, help="save the trials and plots pages as PNG files here")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        print(f"{CHROMIUM} is missing: run scripts/system-deps.sh", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    # the store makes every metric durable (fsync); in memory that costs nothing
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="dash10k-", dir=shm) as tmp:
        exps = Path(tmp)
        os.environ["NNI_CORE_HOME"] = str(exps / "home")
        t = time.perf_counter()
        write_experiment(exps, "bench10k", args.trials)
        print(f"wrote {args.trials} trials in {time.perf_counter() - t:.1f} s")
        procs = []
        try:
            t = time.perf_counter()
            proc, url = start_nni_core(exps, "bench10k")
            procs.append(proc)
            print(f"nni-core manager (view) ready in {time.perf_counter() - t:.1f} s")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                ours = measure_nni_core(browser, url, args.runs, args.trials)
                report(ours, poll_costs(url), args.trials, args.runs)
                if args.screenshots:
                    screenshots(browser, url, args.screenshots)
                if args.nni:
                    proc, nni_url = start_nni30(exps, "bench10k")
                    procs.append(proc)
                    nni = measure_nni30(browser, nni_url, max(1, min(args.runs, 3)))
                    print(f"NNI 3.0 web UI /detail until its trial table shows rows: median "
                          f"{statistics.median(nni):.0f} ms (runs: {', '.join(f'{v:.0f}' for v in nni)}; "
                          f"load average {os.getloadavg()[0]:.1f})")
                browser.close()
        finally:
            for p in procs:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
    return 0


def report(ours: dict, costs: dict, n: int, runs: int) -> None:
    med = statistics.median
    print(f"\n{n} trials, headless Chromium, {runs} page loads, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"nni-core trials page interactive (table + chart): median {med(ours['ready_ms']):.0f} ms "
          f"(runs: {', '.join(f'{v:.0f}' for v in ours['ready_ms'])}; the first one also had the "
          "manager serialise every row)")
    print(f"  renderer main-thread busy until then: median {med(ours['busy_ms']):.0f} ms")
    print(f"  of which the trial list arrived at: median {med(ours['fetched_ms']):.0f} ms")
    print(f"  page marks (ms since navigation start) of the last load: {ours['marks'][-1]}")
    print(f"  sort all rows by metric: median {med(ours['sort_ms']):.0f} ms; "
          f"filter 'units=64 metric>0.9': median {med(ours['filter_ms']):.0f} ms")
    print(f"  first poll {costs['poll_full_ms']:.0f} ms / {costs['poll_full_bytes'] / 1e6:.1f} MB; "
          f"unchanged poll (304) {costs['poll_304_ms']:.1f} ms; "
          f"GET /trial-jobs {costs['trial_jobs_ms']:.0f} ms / {costs['trial_jobs_bytes'] / 1e6:.1f} MB", flush=True)


if __name__ == "__main__":
    sys.exit(main())
