"""Field types of config sections, checked the way NNI 3.0 checks its type hints.

NNI validates each field against its type hint with typeguard (``int`` accepts ``bool``, ``str``
does not accept numbers, ``Dict[str, Any]`` needs string keys). A ``Type`` here does the same
check and can describe itself for an error line ("expected an integer or null").
Section-typed fields (``Section``, list of sections) also tell the binder which class to build.
"""

from __future__ import annotations

from typing import Any, Callable

import attrs


@attrs.frozen
class Type:
    describe: str
    check: Callable[[Any], bool]
    # For fields holding config sections: the section class, and whether it is a list of them.
    section: type | None = None
    section_list: bool = False
    optional: bool = False


def _isinstance(*classes: type) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, classes)


STR = Type("a string", _isinstance(str))
INT = Type("an integer", _isinstance(int))  # typeguard lets bool through, so does NNI
BOOL = Type("true or false", _isinstance(bool))
ANY = Type("anything", lambda value: True, optional=True)
PATH = Type("a path (string)", _isinstance(str))
DICT = Type("a mapping", _isinstance(dict))
STR_DICT = Type("a mapping with string keys",
                lambda value: isinstance(value, dict) and all(isinstance(k, str) for k in value))
INT_LIST = Type("a list of integers",
                lambda value: isinstance(value, list) and all(isinstance(i, int) for i in value))


def optional(inner: Type) -> Type:
    return attrs.evolve(
        inner, describe=f"{inner.describe} or null",
        check=lambda value: value is None or inner.check(value), optional=True,
    )


def union(*types: Type) -> Type:
    return Type(" or ".join(t.describe for t in types), lambda value: any(t.check(value) for t in types))


def literal(*values: Any) -> Type:
    shown = ", ".join(repr(v) for v in values)
    return Type(f"one of {shown}" if len(values) > 1 else shown, lambda value: value in values)


def _is_section(value: Any, cls: type) -> bool:
    # While loading, a section is a ``model.Bound`` (class + values); once built, an instance.
    bound_cls = getattr(value, "cls", None)
    return isinstance(value, cls) or (isinstance(bound_cls, type) and issubclass(bound_cls, cls)
                                      and hasattr(value, "values"))


def section(cls: type) -> Type:
    return Type("a mapping", lambda value: _is_section(value, cls), section=cls)


def section_list(cls: type) -> Type:
    return Type("a list of mappings",
                lambda value: isinstance(value, list) and all(_is_section(v, cls) for v in value),
                section=cls, section_list=True)


# Durations and sizes: a number, or a string with a unit ("1.5h", "8gb").
DURATION = optional(union(STR, INT))
SIZE = union(STR, INT)
GPU_INDICES = optional(union(INT_LIST, INT, STR))
