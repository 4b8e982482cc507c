"""Loading a config file: YAML -> route (v2, v1 converted, v1 kept) -> validated config.

The routes are those of ``nnictl create`` in NNI 3.0 (see docs/config.md):

* ``v2``: the file has no ``trainingServicePlatform``; it is the v2 model as written.
* ``v1-converted``: a v1 file converted to v2 (core + the platform's ``convert_v1``).
* ``v1-legacy``: a v1 file the platform keeps (``Platform.keeps_v1``), checked with NNI's v1 schema;
  ``config`` is None and ``v1`` holds the validated v1 dict.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from nni_core.config.experiment import ExperimentConfig
from nni_core.config.model import Context
from nni_core.config.problems import ConfigError, Problems
from nni_core.config.utils import load_yaml, realpath_cache
from nni_core.config.v1 import find_platform, to_v2, unknown_platform


@attrs.frozen
class LoadedConfig:
    path: str
    schema: int  # 1 or 2
    route: str  # "v2" | "v1-converted" | "v1-legacy"
    config: ExperimentConfig | None
    v1: dict | None = None
    warnings: list[str] = attrs.Factory(list)  # one line each
    converted: dict | None = None  # v1-converted: the v2 mapping as converted, paths as written

    @property
    def platforms(self) -> list[str]:
        if self.config is not None:
            return self.config.platforms
        return [str((self.v1 or {}).get("trainingServicePlatform"))]

    def canonical(self) -> dict:
        """What NNI would send to its manager: the v2 canonical JSON, or the validated v1 dict."""
        return canonical_json(self.config) if self.config is not None else dict(self.v1 or {})


def canonical_json(config: ExperimentConfig) -> dict[str, Any]:
    """NNI 3.0's ``ExperimentConfig.json()`` of ``config``."""
    return config.to_json()


def read_yaml(path: str) -> Any:
    """The file's YAML (safe loader); ``ConfigError`` with line and column on a syntax error."""
    import yaml

    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as error:
        raise ConfigError([_problem("", f"cannot read the config file: {error.strerror or error}")],
                          source=path) from None
    except UnicodeDecodeError as error:
        raise ConfigError([_problem("", f"the config file is not UTF-8 text (byte {error.start})")],
                          source=path) from None
    try:
        return load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError([_problem("", f"{where}YAML syntax error: {what}")], source=path) from None


def _problem(path: str, message: str) -> Any:
    from nni_core.config.problems import Problem

    return Problem(path, message)


def load_config(path: str | os.PathLike, plugins: Any = None) -> LoadedConfig:
    """Load, normalize and validate the config file at ``path``; ``ConfigError`` lists every problem."""
    if plugins is None:
        from nni_core.plugins import get_plugins

        plugins = get_plugins()
    path = os.fspath(path)
    realpath_cache.clear()
    content = read_yaml(path)
    problems = Problems()
    if not isinstance(content, dict):
        problems.add("", f"the top level of a config must be a mapping of fields, not {_kind(content)}",
                     expected="trialCommand: ..., trainingService: ..., ...")
        problems.raise_if_any(path)
    base_dir = os.path.dirname(os.path.abspath(path))

    v1_platform = content.get("trainingServicePlatform")
    if not v1_platform:
        config = build_config(content, base_dir, plugins, problems)
        problems.raise_if_any(path)
        return LoadedConfig(path, 2, "v2", config, warnings=list(problems.warnings))

    platform = find_platform(v1_platform, plugins.platforms)
    if platform is None:
        unknown_platform(v1_platform, plugins.platforms, problems, "trainingServicePlatform")
        problems.raise_if_any(path)
    if platform.keeps_v1_form(content):
        rules = platform.v1_rules()
        if rules is None:
            problems.add("trainingServicePlatform", f"platform {platform.name!r} keeps v1 configs but has no v1 checks",
                         got=v1_platform)
            problems.raise_if_any(path)
        from nni_core.config.v1_schema import validate_legacy

        v1 = validate_legacy(content, rules, path, problems)
        problems.raise_if_any(path)
        return LoadedConfig(path, 1, "v1-legacy", None, v1=v1, warnings=list(problems.warnings))

    converted = to_v2(content, plugins.platforms, problems)
    problems.raise_if_any(path)
    problems.warnings.insert(0, "this is a v1 config, converted to v2 (`nni-core convert` prints the v2 form)")
    config = build_config(converted, base_dir, plugins, problems)
    problems.raise_if_any(path)
    return LoadedConfig(path, 1, "v1-converted", config, warnings=list(problems.warnings), converted=converted)


def build_config(raw: dict, base_dir: str, plugins: Any, problems: Problems) -> ExperimentConfig | None:
    """A v2 mapping -> validated ``ExperimentConfig`` (None when ``problems`` got any)."""
    ctx = Context(base_dir=base_dir, problems=problems, platforms=dict(plugins.platforms))
    bound = ExperimentConfig.bind(raw, ctx, "")
    ExperimentConfig.canonicalize(bound, [], ctx, "")
    ExperimentConfig.validate(bound, ctx, "")
    if problems:
        return None
    config = ExperimentConfig.build(bound)
    plugins.hook.validate_config(config=config, problems=problems)
    if problems:
        return None
    if config.use_annotation and not plugins.hook.expand_trial_code.get_hookimpls():
        problems.warn("useAnnotation", "no installed plugin expands annotations; "
                                       "install nni-plugin-annotation to launch this experiment")
    return config


def config_from_json(data: dict, plugins: Any = None, base_dir: str | None = None) -> ExperimentConfig:
    """Rebuild an ``ExperimentConfig`` from its canonical JSON (what resume and view do)."""
    if plugins is None:
        from nni_core.plugins import get_plugins

        plugins = get_plugins()
    problems = Problems()
    config = build_config(dict(data), base_dir or os.getcwd(), plugins, problems)
    problems.raise_if_any("stored config")
    assert config is not None
    return config


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", type(None): "an empty file"}.get(type(value), f"a {type(value).__name__}")
