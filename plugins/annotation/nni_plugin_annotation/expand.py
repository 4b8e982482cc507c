"""Expanding NNI 2.x annotations into trial code, file by file and folder by folder.

An annotation is a string statement starting with ``@nni.``; it either becomes code itself
(``@nni.report_final_result(acc)``) or rewrites the statement after it
(``'''@nni.variable(nni.choice(2, 3), name=x)'''`` then ``x = 2``). This follows
``nni.tools.annotation.code_generator`` of NNI 2.10 step by step, and renders the result with
astor as NNI did, so the expanded files, and the search-space keys derived from them, are the
ones NNI 2.x produced. What differs: the module that provides ``nni`` (see ``runtime.py``) and
errors, which name the file and line and are raised for mistakes NNI let through silently
(unknown sampling functions, a function_choice whose candidates are not on the next line).
"""

from __future__ import annotations

import ast
import io
import numbers
import os
import shutil
import tokenize
from typing import Any, Iterator

import astor

from nni_core.errors import UsageError

#: The module the expanded code imports as ``nni``; a copy of ``runtime.py`` under this name is
#: written beside the expanded files (see ``write_runtime``).
RUNTIME_MODULE = "_nni_annotation"

#: The sampling functions of NNI 2.x (``nni.smartparam``), usable in ``@nni.variable``.
SAMPLING_FUNCTIONS = (
    "choice", "randint", "uniform", "quniform", "loguniform", "qloguniform",
    "normal", "qnormal", "lognormal", "qlognormal",
)
STATEMENT_ANNOTATIONS = ("report_intermediate_result", "report_final_result", "get_next_parameter")
ANNOTATIONS = ("variable", "function_choice", *STATEMENT_ANNOTATIONS, "mutable_layers", "training_update")
NAS_TF_MODES = ("enas_mode", "oneshot_mode", "darts_mode")


class AnnotationError(UsageError):
    """A malformed annotation: ``file:line: what is wrong``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


class _Problem(Exception):
    """Raised inside the transformer; turned into AnnotationError with the file and line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def to_source(node: ast.AST) -> str:
    """NNI's rendering of a node (``astor.to_source``)."""
    return astor.to_source(node)


def _check(condition: Any, message: str) -> None:
    if not condition:
        raise _Problem(message)


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _annotation_names() -> str:
    return ", ".join("@nni." + name for name in ANNOTATIONS)


# --- one annotation ----------------------------------------------------------------------------


def parse_annotation(code: str) -> ast.Expr:
    """The single expression of an annotation string (without its ``@``)."""
    try:
        module = ast.parse(code)
    except SyntaxError as error:
        raise _Problem(f"cannot parse annotation {_shorten(code)!r}: {error.msg}") from None
    _check(len(module.body) == 1, f"annotation {_shorten(code)!r} holds more than one expression")
    _check(type(module.body[0]) is ast.Expr, f"annotation {_shorten(code)!r} is not an expression")
    return module.body[0]


def _shorten(code: str, limit: int = 60) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[: limit - 3] + "..."


def _nni_call(node: ast.AST) -> str | None:
    """``X`` for a call ``nni.X(...)``, else None."""
    if (type(node) is ast.Call and type(node.func) is ast.Attribute
            and type(node.func.value) is ast.Name and node.func.value.id == "nni"):
        return node.func.attr
    return None


def parse_annotation_function(code: str, func_name: str) -> tuple[ast.expr, ast.Call]:
    """``(name expression, call)`` of ``nni.<func_name>(..., name=NAME)``."""
    call = parse_annotation(code).value
    _check(_nni_call(call) == func_name, f"@nni.{func_name} annotation is not a call of nni.{func_name}")
    _check(len(call.keywords) == 1 and call.keywords[0].arg == "name",
           f"@nni.{func_name} takes exactly one keyword argument, name=..., after its values")
    return call.keywords[0].value, call


def parse_nni_variable(code: str) -> tuple[ast.expr, ast.Call]:
    """``@nni.variable(nni.<sampling>(...), name=x)`` → (x, the sampling call with name='x')."""
    name, call = parse_annotation_function(code, "variable")
    _check(len(call.args) == 1, "@nni.variable takes one value: a sampling call such as nni.choice(...)")
    arg = call.args[0]
    function = _nni_call(arg)
    _check(function is not None, "the value of @nni.variable is not a call of an nni sampling function "
                                 f"(one of {', '.join('nni.' + f for f in SAMPLING_FUNCTIONS)})")
    _check(function in SAMPLING_FUNCTIONS, f"unknown sampling function nni.{function}; expected one of "
                                           f"{', '.join('nni.' + f for f in SAMPLING_FUNCTIONS)}")
    _check(not arg.keywords, f"nni.{function} inside @nni.variable takes no keyword arguments; "
                             "put name= on @nni.variable")
    _check(arg.args, f"nni.{function} needs its values, e.g. nni.{function}({_EXAMPLES.get(function, '0, 1')})")
    if function != "choice":
        for value in arg.args:
            _check(_is_number_literal(value), f"the arguments of nni.{function} must be number literals, "
                                              f"got {to_source(value).strip()}")
    arg.keywords.append(ast.keyword(arg="name", value=ast.Constant(to_source(name).strip())))
    if function == "choice":
        convert_args_to_dict(arg)
    return name, arg


_EXAMPLES = {"choice": "1, 2, 3", "quniform": "0, 10, 2", "qloguniform": "1, 100, 1", "qnormal": "0, 1, 0.1",
             "qlognormal": "0, 1, 0.1"}


def _is_number_literal(node: ast.expr) -> bool:
    try:
        return isinstance(ast.literal_eval(node), numbers.Real)
    except (ValueError, TypeError, SyntaxError):
        return False


def parse_nni_function(code: str) -> tuple[ast.Call, list[str]]:
    """``@nni.function_choice(f(a), g(a), name=f)`` → (the call with a dict of lambdas, dumped candidates)."""
    name, call = parse_annotation_function(code, "function_choice")
    _check(call.args, "@nni.function_choice needs at least one candidate expression")
    candidates = [ast.dump(arg) for arg in call.args]
    convert_args_to_dict(call, with_lambda=True)
    call.keywords[0].value = ast.Constant(to_source(name).strip())
    return call, candidates


def convert_args_to_dict(call: ast.Call, with_lambda: bool = False) -> ast.Call:
    """Replace the arguments by one dict ``{label: value}``; a literal is its own label, any other
    expression is labelled with its source. These labels are the search-space values."""
    keys, values = [], []
    for arg in call.args:
        if type(arg) is ast.Constant:
            key = arg
        else:
            key = ast.Constant(str(to_source(arg).strip('\n"')))
        keys.append(key)
        values.append(make_lambda(arg) if with_lambda else arg)
    call.args[:] = [ast.Dict(keys=keys, values=values)]
    return call


def make_lambda(body: ast.expr) -> ast.Lambda:
    no_args = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                            kwarg=None, defaults=[])
    return ast.Lambda(args=no_args, body=body)


def same_variable(node1: Any, node2: Any) -> bool:
    """Whether two target expressions are the same, ignoring positions and load/store context."""
    if type(node1) is not type(node2):
        return False
    if isinstance(node1, ast.AST):
        skipped = ("lineno", "col_offset", "ctx", "end_lineno", "end_col_offset")
        return all(same_variable(value, getattr(node2, key))
                   for key, value in vars(node1).items() if key not in skipped)
    if isinstance(node1, list):
        return len(node1) == len(node2) and all(map(same_variable, node1, node2))
    return node1 == node2


def replace_variable_node(node: ast.AST, annotation: str) -> ast.AST:
    _check(type(node) is ast.Assign, "@nni.variable must be followed by an assignment to its name")
    _check(len(node.targets) == 1, "the assignment after @nni.variable has more than one target")
    name, expr = parse_nni_variable(annotation)
    _check(same_variable(node.targets[0], name),
           f"@nni.variable names {to_source(name).strip()} but the next line assigns "
           f"{to_source(node.targets[0]).strip()}")
    node.value = expr
    return node


class FuncReplacer(ast.NodeTransformer):
    """Replaces each call (outermost only, as NNI did) equal to a function_choice candidate."""

    def __init__(self, candidates: list[str], target: ast.Call) -> None:
        self.candidates = set(candidates)
        self.target = target
        self.replaced = 0

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if ast.dump(node) in self.candidates:
            self.replaced += 1
            return self.target
        return node


def replace_function_node(node: ast.AST, annotation: str) -> ast.AST:
    target, candidates = parse_nni_function(annotation)
    replacer = FuncReplacer(candidates, target)
    replacer.visit(node)
    _check(replacer.replaced, "the statement after @nni.function_choice calls none of its candidates; "
                              "write one candidate exactly as it appears in the annotation")
    return node


def parse_annotation_mutable_layers(code: str, lineno: int, nas_mode: str | None) -> list[ast.Assign]:
    """``@nni.mutable_layers({...}, ...)`` (NAS classic mode) → one ``nni.mutable_layer`` call per layer."""
    call = parse_annotation(code).value
    _check(_nni_call(call) == "mutable_layers", "@nni.mutable_layers annotation is not a call of nni.mutable_layers")
    nodes = []
    mutable_id = "mutable_block_" + str(lineno)
    for count, arg in enumerate(call.args):
        _check(type(arg) is ast.Dict, "each argument of @nni.mutable_layers must be a {field: value} block")
        fields: dict[str, ast.expr] = {}
        for key, value in zip(arg.keys, arg.values):
            field = key.id if type(key) is ast.Name else None
            _check(field in ("layer_choice", "fixed_inputs", "optional_inputs", "optional_input_size",
                             "layer_output"), f"unexpected field {to_source(key).strip() if key else '**'} "
                                              "in a mutable layer")
            _check(field not in fields, f"duplicated field: {field}")
            fields[field] = value
        _check("layer_choice" in fields, "layer_choice must exist")
        _check("layer_output" in fields, "layer_output must exist")
        choices = fields["layer_choice"]
        _check(type(choices) is ast.List, "value of layer_choice should be a list")
        names, funcs, kwargs = [], [], []
        for choice in choices.elts:
            _check(type(choice) is ast.Call, "element in layer_choice should be function call")
            _check(not choice.args, "number of args without keyword should be zero")
            names.append(ast.Constant(to_source(choice).strip()))
            funcs.append(choice.func)
            kwargs.append(ast.Dict(keys=[ast.Constant(kw.arg) for kw in choice.keywords],
                                   values=[kw.value for kw in choice.keywords]))
        call_args: list[ast.expr] = [
            ast.Constant(mutable_id), ast.Constant(f"mutable_layer_{count}"),
            ast.Dict(keys=names, values=funcs), ast.Dict(keys=names, values=kwargs),
        ]
        if "fixed_inputs" in fields:
            _check(type(fields["fixed_inputs"]) is ast.List, "value of fixed_inputs should be a list")
            call_args.append(fields["fixed_inputs"])
        else:
            call_args.append(ast.List(elts=[]))
        if "optional_inputs" in fields:
            inputs = fields["optional_inputs"]
            _check(type(inputs) is ast.List, "value of optional_inputs should be a list")
            _check("optional_input_size" in fields, "optional_input_size must exist when optional_inputs exists")
            size = fields["optional_input_size"]
            _check(type(size) in (ast.Constant, ast.List), "value of optional_input_size should be a number or list")
            call_args.append(ast.Dict(keys=[ast.Constant(to_source(v).strip()) for v in inputs.elts],
                                      values=inputs.elts))
            call_args.append(size)
        else:
            call_args += [ast.Dict(keys=[], values=[]), ast.Constant(0)]
        call_args.append(ast.Constant(nas_mode))
        if nas_mode in NAS_TF_MODES:
            call_args.append(ast.Name(id="tensorflow", ctx=ast.Load()))
        output = fields["layer_output"]
        _check(type(output) is ast.Name, "value of layer_output should be a variable name")
        output.ctx = ast.Store()
        target = ast.Call(func=ast.Attribute(value=ast.Name(id="nni", ctx=ast.Load()), attr="mutable_layer",
                                             ctx=ast.Load()), args=call_args, keywords=[])
        nodes.append(ast.Assign(targets=[output], value=target))
    return nodes


# --- one file ------------------------------------------------------------------------------------


class Transformer(ast.NodeTransformer):
    """Turns annotation strings into code; ``annotated`` tells whether the file had any."""

    def __init__(self, nas_mode: str | None = None) -> None:
        self.stack: list[tuple[str, int] | None] = []
        self.annotated = False
        self.nas_mode = nas_mode
        self.line = 0  # the annotation or statement being worked on, for errors

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, (ast.expr, ast.stmt)):
            self.line = node.lineno
        if not self.stack:  # the module itself
            return self._visit_children(node)
        pending = self.stack[-1]
        if type(node) is ast.Expr and _is_str(node.value):
            if pending is not None and node.value.value.startswith("@nni."):
                self.line = pending[1]
                raise _Problem("an annotation must be followed by the statement it annotates, "
                               "not by another annotation")
            if pending is None:
                return self._visit_string(node)
        if pending is not None:  # this statement is the annotated one
            self.stack[-1] = None
            annotation, self.line = pending
            if annotation.startswith("nni.variable"):
                return replace_variable_node(node, annotation)
            return replace_function_node(node, annotation)
        return self._visit_children(node)

    def _visit_string(self, node: ast.Expr) -> Any:
        string = node.value.value
        if not string.startswith("@nni."):
            return node  # an ordinary docstring
        self.annotated = True
        code = string[1:]
        function = _nni_call(parse_annotation(code).value)
        _check(function is not None, f"annotation @{_shorten(code, 40)} is not a call such as "
                                     "@nni.variable(nni.choice(1, 2), name=x)")
        _check(function in ANNOTATIONS, f"unknown annotation @{_shorten(code, 40)}; expected one of "
                                        f"{_annotation_names()}")
        if function == "training_update":
            expr = parse_annotation(code)
            expr.value.args.insert(0, ast.Constant(self.nas_mode))
            return expr
        if function in STATEMENT_ANNOTATIONS:
            return parse_annotation(code)
        if function == "mutable_layers":
            return parse_annotation_mutable_layers(code, node.end_lineno, self.nas_mode)
        self.stack[-1] = (code, node.lineno)  # variable / function_choice: the next statement
        return None

    def _visit_children(self, node: ast.AST) -> ast.AST:
        self.stack.append(None)
        self.generic_visit(node)
        pending = self.stack.pop()
        if pending is not None:
            self.line = pending[1]
            raise _Problem("annotation has no statement after it to annotate")
        return node


def visit_file(visitor: ast.NodeTransformer, code: str, path: str) -> ast.Module:
    """Parse one file and run ``visitor`` (it has a ``line`` attribute) over it; the tree it changed.
    Problems become an AnnotationError naming ``path`` and the line."""
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        raise AnnotationError(path, error.lineno or 0, f"not valid Python: {error.msg}") from None
    try:
        visitor.visit(tree)
    except _Problem as problem:
        raise AnnotationError(path, problem.line or visitor.line, str(problem)) from None
    return tree


def expand_source(code: str, path: str = "<string>", nas_mode: str | None = None) -> str | None:
    """The expanded code of one file, or None when it has no annotation."""
    if "@nni." not in code:  # cheap: a file without annotations is copied as is, even if it is not Python 3
        return None
    transformer = Transformer(nas_mode)
    tree = visit_file(transformer, code, path)
    if not transformer.annotated:
        return None
    # Right after the last `from __future__ import`, where NNI put its `import nni`.
    position = 0
    for i, node in enumerate(tree.body):
        if type(node) is ast.ImportFrom and node.module == "__future__":
            position = i + 1
    tree.body.insert(position, ast.Import(names=[ast.alias(name=RUNTIME_MODULE, asname="nni")]))
    if nas_mode in NAS_TF_MODES:
        tree.body.insert(position, ast.Import(names=[ast.alias(name="tensorflow", asname=None)]))
    return to_source(tree)


# --- a folder ------------------------------------------------------------------------------------


def read_source(path: str, shown: str) -> str | None:
    """The text of a .py file in its declared encoding (PEP 263, UTF-8 by default); None for a
    file that cannot be decoded and does not mention nni (it is left as it is)."""
    with open(path, "rb") as file:
        data = file.read()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        if b"nni." not in data:
            return None
        raise AnnotationError(shown, 1, f"cannot decode the file: {error}; save it as UTF-8") from None


def copy_tree(src_dir: str, dst_dir: str) -> None:
    """Copy the trial code folder, leaving out caches and the destination itself (it may lie inside)."""
    dst_real = os.path.realpath(dst_dir)

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {"__pycache__"}
        for name in names:
            real = os.path.realpath(os.path.join(folder, name))
            if real == dst_real or dst_real.startswith(real + os.sep):
                skipped.add(name)
        return skipped

    if os.path.exists(dst_dir):
        shutil.rmtree(dst_dir)
    shutil.copytree(src_dir, dst_dir, ignore=ignore)


def python_files(folder: str) -> Iterator[tuple[str, str]]:
    """(path, path relative to ``folder``) of every .py file below ``folder``, in a stable order."""
    for subfolder, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(subfolder, name)
                yield path, os.path.relpath(path, folder)


def expand_tree(src_dir: str, dst_dir: str, nas_mode: str | None = None) -> list[str]:
    """Copy ``src_dir`` to ``dst_dir`` and expand every annotated ``.py`` file in the copy.

    Returns the expanded files, relative to ``dst_dir``. Beside them (and at the top) a copy of
    the runtime module is written. ``src_dir`` is only read. Errors name the file in ``src_dir``.
    """
    copy_tree(src_dir, dst_dir)
    expanded = []
    for path, relative in python_files(dst_dir):
        shown = os.path.join(src_dir, relative)
        code = read_source(path, shown)
        result = None if code is None else expand_source(code, shown, nas_mode)
        if result is None:
            continue
        with open(path, "w", encoding="utf-8") as file:
            file.write(result)
        expanded.append(relative)
    if expanded:
        for folder in sorted({os.path.dirname(relative) for relative in expanded} | {""}):
            write_runtime(os.path.join(dst_dir, folder))
    return expanded


def write_runtime(folder: str) -> None:
    """Put the runtime module in ``folder`` so that ``import _nni_annotation`` works whether a file
    there runs as a script (its folder is on sys.path) or is imported from the top folder."""
    from nni_plugin_annotation import runtime

    target = os.path.join(folder, RUNTIME_MODULE + ".py")
    if os.path.exists(target):
        raise UsageError(f"{target} already exists in the trial code; rename it, the expanded code needs this name")
    shutil.copyfile(runtime.__file__, target)
