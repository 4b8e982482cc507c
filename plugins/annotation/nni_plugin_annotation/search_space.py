"""The search space of expanded trial code, as NNI 2.x's ``generate_search_space`` built it.

Every call ``nni.<sampling function>(...)`` in a ``.py`` file of the folder is a parameter. Its key
is ``<module>/<name>/<function>``: the module is the file's dotted path in the folder
(``dir.simple``), the name is the call's ``name=`` or ``__line<N>`` (N: the line of its last
argument in the expanded file), the function is the sampling function or ``function_choice``.
A ``nni.mutable_layer`` block is ``<module>/mutable_block_<N>``. Like NNI, the generator also
writes ``key=`` into each call (and the qualified block id into ``mutable_layer``), because that is
how the trial finds its value at run time; only files where it adds something are rewritten.
"""

from __future__ import annotations

import ast
import numbers
import os
import re
from typing import Any

from nni_plugin_annotation.expand import (
    SAMPLING_FUNCTIONS,
    _nni_call,
    _Problem,
    python_files,
    read_source,
    to_source,
    visit_file,
)

SEARCH_SPACE_FUNCTIONS = (*SAMPLING_FUNCTIONS, "function_choice", "mutable_layer")
_MAY_HAVE_PARAMETERS = re.compile(r"\bnni\s*\.\s*(%s)\b" % "|".join(SEARCH_SPACE_FUNCTIONS))


class SearchSpaceGenerator(ast.NodeTransformer):
    def __init__(self, module_name: str) -> None:
        self.module_name = module_name
        self.search_space: dict[str, Any] = {}
        self.line = 0

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = _nni_call(node)
        if func not in SEARCH_SPACE_FUNCTIONS:
            return node  # not a parameter (report_final_result, a user's own call, ...)
        self.line = node.lineno
        if func == "mutable_layer":
            self._add_mutable_layer(node.args)
            return node

        if node.keywords:
            if len(node.keywords) != 1 or node.keywords[0].arg != "name":
                raise _Problem(f"nni.{func} takes one keyword argument, name=..., got "
                               f"{', '.join(str(k.arg) for k in node.keywords)}")
            value = node.keywords[0].value
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                raise _Problem(f"the name of nni.{func} must be a string literal")
            name = value.value
            specified_name = True
        else:
            if not node.args:
                raise _Problem(f"nni.{func} has no arguments")
            name = "__line" + str(node.args[-1].lineno)
            specified_name = False

        if func in ("choice", "function_choice"):
            # The dict's keys are the choices; the expander wrote them from the annotation.
            if len(node.args) != 1 or type(node.args[0]) is not ast.Dict:
                raise _Problem(f"nni.{func} takes one dict of {{label: value}} in expanded code")
            if any(type(key) is not ast.Constant for key in node.args[0].keys):
                raise _Problem(f"the labels of nni.{func} must be literals")
            args = [key.value for key in node.args[0].keys]
        else:
            args = []
            for arg in node.args:
                try:
                    value = ast.literal_eval(to_source(arg))
                except (ValueError, TypeError, SyntaxError):
                    value = None
                if not isinstance(value, numbers.Real):
                    raise _Problem(f"the arguments of nni.{func} must be number literals, "
                                   f"got {to_source(arg).strip()}")
                args.append(value)

        key = f"{self.module_name}/{name}/{func}"
        node.keywords.append(ast.keyword(arg="key", value=ast.Constant(key)))
        value = {"_type": "choice" if func == "function_choice" else func, "_value": args}
        if specified_name:
            old = self.search_space.get(key)
            if old is not None and old != value:
                raise _Problem(f"two parameters named {name!r} (nni.{func}) have different values; "
                               "give them different names")
        elif key in self.search_space:
            raise _Problem("only one unnamed parameter is allowed in a line; add name=... to it")
        self.search_space[key] = value
        return node

    def _add_mutable_layer(self, args: list[ast.expr]) -> None:
        try:
            block, layer, funcs, optional_inputs, size = args[0], args[1], args[2], args[5], args[6]
            key = self.module_name + "/" + block.value
            layer_id = layer.value
            layer_choice = [k.value for k in funcs.keys]
            inputs = [k.value for k in optional_inputs.keys]
            size_value = size.value if isinstance(size, ast.Constant) else [size.elts[0].value, size.elts[1].value]
        except (IndexError, AttributeError, TypeError):
            raise _Problem("nni.mutable_layer call is not in the form the expander writes") from None
        block.value = key
        entry = self.search_space.setdefault(key, {"_type": "mutable_layer", "_value": {}})
        entry["_value"][layer_id] = {
            "layer_choice": layer_choice,
            "optional_inputs": inputs,
            "optional_input_size": size_value,
        }


def generate_source(module_name: str, code: str, path: str = "<string>") -> tuple[dict[str, Any], str | None]:
    """(search space, code with keys) of one file; the code is None when nothing was added."""
    if not _MAY_HAVE_PARAMETERS.search(code):
        return {}, None
    generator = SearchSpaceGenerator(module_name)
    tree = visit_file(generator, code, path)
    if not generator.search_space:
        return {}, None
    return generator.search_space, to_source(tree)


def module_name(relative: str) -> str:
    """``dir/simple.py`` → ``dir.simple``, as NNI named modules in keys."""
    return relative[: -len(".py")].replace(os.sep, ".")


def generate_search_space(code_dir: str, error_dir: str | None = None,
                          expanded: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """The search space of every ``.py`` file under ``code_dir``; writes the keys into the files.

    Run it on the expanded copy, never on the user's folder. ``error_dir`` is the user's folder
    that ``code_dir`` copies: errors in files the expander left unchanged name the user's file
    there (same lines); errors in ``expanded`` files (relative paths) name the expanded file.
    """
    search_space: dict[str, Any] = {}
    for path, relative in python_files(code_dir):
        shown = os.path.join(error_dir, relative) if error_dir and relative not in expanded else path
        code = read_source(path, shown)
        if code is None:
            continue
        space, new_code = generate_source(module_name(relative), code, shown)
        if new_code is not None:
            with open(path, "w", encoding="utf-8") as file:
                file.write(new_code)
        search_space.update(space)
    return search_space
