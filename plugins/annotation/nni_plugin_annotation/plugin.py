"""The plugin's hooks: expand the trial code at launch, and the ``ss-gen`` command.

Heavy imports (astor, the expander) stay inside the functions: this module is imported
whenever nni-core loads its plugins, ``nni-core --help`` included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from nni_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from nni_core.config import ExperimentConfig

#: The copy of the trial code inside the experiment folder.
CODE_FOLDER = "trial_code"


def annotate(src_dir: str, dst_dir: str) -> dict[str, Any]:
    """Copy ``src_dir`` to ``dst_dir``, expand its annotations there and return the search space.

    ``src_dir`` is only read. Raises ``UsageError`` (an ``AnnotationError`` with file and line)
    for a malformed annotation.
    """
    from nni_core.errors import UsageError
    from nni_plugin_annotation.expand import expand_tree
    from nni_plugin_annotation.search_space import generate_search_space

    if not os.path.isdir(src_dir):
        raise UsageError(f"trial code directory {src_dir} does not exist or is not a folder")
    # NNI's v1 default; its v2 launcher passed None, which left NAS blocks unable to run.
    expanded = expand_tree(src_dir, dst_dir, nas_mode="classic_mode")
    return generate_search_space(dst_dir, error_dir=src_dir, expanded=set(expanded))


@hookimpl
def expand_trial_code(config: ExperimentConfig, experiment_dir: str) -> ExperimentConfig | None:
    if not config.use_annotation:
        return None
    import attrs

    from nni_core.errors import UsageError

    src_dir = os.path.abspath(config.trial_code_directory)
    dst_dir = os.path.join(experiment_dir, CODE_FOLDER)
    search_space = annotate(src_dir, dst_dir)
    if not search_space:
        raise UsageError(f"useAnnotation is true but no NNI annotation (e.g. '''@nni.variable(nni.choice(1, 2), "
                         f"name=x)''') was found in the .py files of {src_dir}; annotate the trial code "
                         "or set searchSpace and useAnnotation: false")
    # As NNI did: the copy is now plain code with a search space; a resumed experiment must not
    # expand it again (and a config with both useAnnotation and searchSpace is invalid).
    return attrs.evolve(config, trial_code_directory=dst_dir, search_space=search_space, use_annotation=False,
                        training_service=_moved_services(config.training_service, src_dir, dst_dir))


def _moved_services(services: Any, src_dir: str, dst_dir: str) -> Any:
    """The trainingService section(s) with the copy as their trialCodeDirectory where they ran the
    user's folder (the canonical config repeats the top-level directory in every section)."""
    import attrs

    def moved(section: Any) -> Any:
        directory = getattr(section, "trial_code_directory", None)
        if isinstance(directory, str) and os.path.realpath(directory) == os.path.realpath(src_dir):
            return attrs.evolve(section, trial_code_directory=dst_dir)
        return section

    return [moved(s) for s in services] if isinstance(services, list) else moved(services)


@hookimpl
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ss-gen", help="print the search space of NNI-annotated trial code",
        description="Generate the search space from the NNI annotations in a trial code folder, as "
                    "useAnnotation does at launch (the folder itself is not changed), and print it as JSON.",
    )
    parser.add_argument("--trial-dir", required=True, metavar="DIR", help="the trial code folder")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the search space to FILE instead")
    parser.set_defaults(handler=ss_gen)


def ss_gen(args: argparse.Namespace) -> int:
    import tempfile

    from nni_core.errors import UsageError

    with tempfile.TemporaryDirectory(prefix="nni-core-ss-gen-") as scratch:
        search_space = annotate(os.path.abspath(args.trial_dir), os.path.join(scratch, "code"))
    if not search_space:
        print(f"nni-core: warning: no NNI annotation found in {args.trial_dir}", file=sys.stderr)
    text = json.dumps(search_space, indent=4) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise UsageError(f"cannot write {args.output}: {error.strerror or error}") from None
    return 0
