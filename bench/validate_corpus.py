"""Validate all 148 configs of NNI's corpus in one process: nni-core vs NNI 3.0, side by side.

Each side runs in its own fresh process, loads its config code once, then validates every corpus
config the way its launcher does before starting a manager (NNI: ``nnictl create``'s path in
``launcher.py`` — YAML, v1 conversion or the legacy v1 schema check, ``ExperimentConfig``,
``json()``; nni-core: ``load_config``). The timed part is one round over the 148 configs, the best
of ``--repeat`` rounds, the two sides' rounds alternating; start-up (imports, plugin discovery) is
printed separately.

    .venv/bin/python bench/validate_corpus.py [--repeat 5] [--corpus PATH]

NNI 3.0 comes from ``NNI_PYTHON`` (or ``.venv-nni30/``, created once; see bench/nni_env.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nni_env import REPO_ROOT, nni_python  # noqa: E402

DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "nni"

# Each driver prints its start-up time, then runs one round over the configs per line it reads on
# stdin and prints {"loop_s", "valid"}. The two sides' rounds alternate, so both see the same
# machine load (shared machines are noisy); the best round of each side counts.
COMMON = r"""
import json, os, sys, time
t0 = time.perf_counter()
{imports}
print(json.dumps({{"startup_s": time.perf_counter() - t0}}), flush=True)
configs_dir = sys.argv[1]
paths = [os.path.join(configs_dir, rel) for rel in json.loads(sys.argv[2])]
import contextlib, io
for _ in sys.stdin:
    start = time.perf_counter()
    valid = 0
    with contextlib.redirect_stdout(io.StringIO()):  # nnictl's v1 check prints as it goes
        for path in paths:
            valid += check(path)
    print(json.dumps({{"loop_s": time.perf_counter() - start, "valid": valid}}), flush=True)
"""

NNI_CORE = COMMON.format(imports=r"""
from nni_core.config import ConfigError, load_config
from nni_core.plugins import get_plugins
plugins = get_plugins()

def check(path):
    try:
        load_config(path, plugins)
        return 1
    except ConfigError:
        return 0
""")

# What nni/tools/nnictl/launcher.py: create_experiment does before it starts the manager.
NNI = COMMON.format(imports=r"""
import copy, logging, warnings
from pathlib import Path
import yaml
from nni.experiment.config import ExperimentConfig, convert, utils
from nni.experiment.config.utils import internal
from nni.tools.nnictl import launcher_utils
logging.disable(logging.CRITICAL)  # no console output on either side
warnings.simplefilter("ignore")
internal.get_ipv4_address = utils.get_ipv4_address = lambda: "127.0.0.1"  # no socket per config

def check(path):
    try:
        with open(path, encoding="utf_8") as f:
            content = yaml.safe_load(f)
        platform = content.get("trainingServicePlatform")
        if platform:
            can_convert = platform != "adl"
            if platform in ("kubeflow", "frameworkcontroller"):
                can_convert = content.get(platform + "Config", {}).get("reuse") != False
            if not can_convert:  # legacy_launcher: the v1 schema check
                launcher_utils.validate_all_content(copy.deepcopy(content), path)
                return 1
            v2 = convert.to_v2(content)
            utils.set_base_path(Path(path).parent)
            try:
                config = ExperimentConfig(**v2)
            finally:
                utils.unset_base_path()
        else:
            try:
                config = ExperimentConfig.load(path)
            finally:
                if internal._current_base_path is not None:
                    utils.unset_base_path()
        if config.use_annotation:
            return 0
        config.json()  # Experiment.start validates and sends this
        return 1
    except Exception:
        return 0
""")


def start(python: str, driver: str, configs: Path, files: list[str], env: dict) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen([python, "-c", driver, str(configs), json.dumps(files)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env=env)
    return process, json.loads(process.stdout.readline())


def one_round(process: subprocess.Popen) -> dict:
    process.stdin.write("go\n")
    process.stdin.flush()
    line = process.stdout.readline()
    if not line:
        raise SystemExit("a benchmark driver died; run it alone to see why")
    return json.loads(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="rounds over the corpus; the best counts")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the NNI corpus folder")
    args = parser.parse_args()
    summary = args.corpus / "expected" / "_summary.json"
    if not summary.is_file():
        print(f"NNI corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    files = [row["file"] for row in json.loads(summary.read_text())["configs"]]
    with tempfile.TemporaryDirectory() as tmp:
        # The corpus's fixed environment: a HOME with only an empty ~/.ssh/id_rsa, an empty cwd.
        home = Path(tmp, "home")
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "id_rsa").write_text("")
        env = {**os.environ, "HOME": str(home), "NNI_CONFIG_DIR": str(Path(tmp, "nni-config"))}
        os.makedirs(env["NNI_CONFIG_DIR"])
        sides = {}
        for name, python, driver in (("nni-core", sys.executable, NNI_CORE), ("NNI 3.0", str(nni_python()), NNI)):
            process, startup = start(python, driver, args.corpus / "configs", files, env)
            sides[name] = {"process": process, "configs": len(files), **startup}
        for _ in range(args.repeat):
            for side in sides.values():
                result = one_round(side["process"])
                side["valid"] = result["valid"]
                side["loop_s"] = min(side.get("loop_s", float("inf")), result["loop_s"])
        for side in sides.values():
            side["process"].stdin.close()
            side["process"].wait()
        ours, nni = sides["nni-core"], sides["NNI 3.0"]
    print(f"{'':10} {'configs':>7} {'valid':>5} {'start-up s':>10} {'148 configs ms':>15} {'per config ms':>14}")
    for name, row in (("nni-core", ours), ("NNI 3.0", nni)):
        print(f"{name:10} {row['configs']:>7} {row['valid']:>5} {row['startup_s']:>10.3f} "
              f"{row['loop_s'] * 1000:>15.1f} {row['loop_s'] * 1000 / row['configs']:>14.3f}")
    ratio = nni["loop_s"] / ours["loop_s"]
    print(f"validation of all {len(files)} configs: nni-core is {ratio:.1f}x faster than NNI 3.0 "
          f"(start-up: {nni['startup_s'] / ours['startup_s']:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
