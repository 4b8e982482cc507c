"""The machinery behind every config section: bind a YAML mapping, canonicalize, validate, build.

A section is a frozen attrs class deriving from ``Section``; each field is declared with
``field(type, default, path=..., check=...)`` so its type, default and single-field check sit
next to it. Loading a mapping goes through four steps, the same as NNI 3.0's ``ConfigBase``:

1. **bind**: keys matched by NNI's rules (case and ``_`` ignored, last spelling wins), unknown keys
   reported, nested mappings bound to their section classes (``Bound``: class + mutable values);
2. **canonicalize**: defaults filled, shortcut fields copied from the parent, paths resolved
   against the config's folder (``Section.canonicalize``, overridable per class);
3. **validate**: each field's type and check, then the class's cross-field ``Section.check``; every
   problem is collected, nothing raises;
4. **build**: the validated values become frozen instances.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any, Callable

import attrs

from nni_core.config.problems import Problems
from nni_core.config.types import Type
from nni_core.config.utils import camel_case, normalize_key, resolve_path


class _Missing:
    """A required field no one has set (yet): NNI's ``dataclasses.MISSING``."""

    def __repr__(self) -> str:
        return "MISSING"

    def __deepcopy__(self, memo: dict) -> _Missing:
        return self


MISSING = _Missing()


class _Reported:
    """A value whose problem is already reported (e.g. an unknown platform): not checked again."""

    def __repr__(self) -> str:
        return "REPORTED"

    def __deepcopy__(self, memo: dict) -> _Reported:
        return self


REPORTED = _Reported()


@attrs.frozen
class FieldInfo:
    name: str
    key: str  # camelCase, as the canonical JSON writes it
    norm: str  # lower case without "_": how NNI matches keys
    type: Type
    default: Any  # MISSING when required
    path: bool  # a path resolved against the config's folder
    check: Callable[[Any], str | None] | None


def field(type_: Type, default: Any = attrs.NOTHING, *, path: bool = False,
          check: Callable[[Any], str | None] | None = None) -> Any:
    """Declare a section field: its type, default (none: required), whether it is a path, and a
    single-value check returning an error text or None (run only when the type is right)."""
    metadata = {"nni": (type_, path, check)}
    if isinstance(default, (dict, list)):
        frozen_default = default
        return attrs.field(factory=lambda: copy.deepcopy(frozen_default), metadata=metadata)
    return attrs.field(default=default, metadata=metadata)


@attrs.define
class Bound:
    """A section's values while it is being canonicalized and validated."""

    cls: type
    values: dict[str, Any]
    base_dir: str

    def __repr__(self) -> str:  # shown in error lines when a list mixes sections and other values
        return f"<{self.cls.__name__} mapping>"

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name, default)
        return default if value is MISSING else value


@attrs.define
class Context:
    """What every step needs: where relative paths start, where problems go, installed platforms."""

    base_dir: str
    problems: Problems
    platforms: dict[str, Any] = attrs.Factory(dict)
    # Fields whose loading already failed (reported), so later checks do not pile on.
    failed: set[str] = attrs.Factory(set)


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


@attrs.frozen(kw_only=True)
class Section:
    """Base of every config section (experiment, algorithm, training service, storage, ...)."""

    # The name NNI's messages use for this class, so users can search for the old text too.

    # --- the field table --------------------------------------------------------------------------

    @classmethod
    def fields(cls) -> tuple[FieldInfo, ...]:
        return _fields_of(cls)

    # --- 1. bind --------------------------------------------------------------------------------------

    @classmethod
    def bind(cls, raw: dict, ctx: Context, path: str) -> Bound:
        """Match ``raw``'s keys to fields (NNI's rules); nested mappings become ``Bound`` too."""
        given: dict[str, tuple[str, Any]] = {}
        for key, value in raw.items():
            norm = normalize_key(key)
            if norm in given and given[norm][0] != key:
                # NNI keeps the last spelling silently; say which one won.
                ctx.problems.warn(join(path, str(key)),
                                  f"also given as {given[norm][0]!r}; the later one, {key!r}, is used")
            given[norm] = (str(key), value)
        values: dict[str, Any] = {}
        for info in cls.fields():
            found = given.pop(info.norm, None)
            if found is None:
                default = info.default
                values[info.name] = copy.deepcopy(default) if isinstance(default, (dict, list)) else default
            else:
                values[info.name] = cls.bind_field(info, found[1], ctx, join(path, found[0]))
        for key, _value in given.values():
            known = ", ".join(info.key for info in cls.fields())
            ctx.problems.add(join(path, key), "unknown field", expected=f"one of {known}")
        return Bound(cls, values, ctx.base_dir)

    @classmethod
    def bind_field(cls, info: FieldInfo, value: Any, ctx: Context, path: str) -> Any:
        """Bind one field's raw value; section-typed fields bind their mappings."""
        target = info.type.section
        if target is None:
            return value
        if info.type.section_list:
            if isinstance(value, list):
                return [target.bind(item, ctx, join(path, i)) if isinstance(item, dict) else item
                        for i, item in enumerate(value)]
            return value
        if isinstance(value, dict):
            return target.bind(value, ctx, path)
        return value

    # --- 2. canonicalize -----------------------------------------------------------------------------

    @classmethod
    def canonicalize(cls, bound: Bound, parents: list[Bound], ctx: Context, path: str) -> None:
        """Resolve path fields, then canonicalize child sections (parents: nearest first)."""
        values = bound.values
        lineage = None
        for info in cls.fields():
            value = values[info.name]
            if info.path and isinstance(value, str):
                values[info.name] = resolve_path(value, bound.base_dir)
            elif isinstance(value, (Bound, list)):
                lineage = lineage or [bound] + parents
                for child, child_path in _children(value, path, info.key):
                    child.cls.canonicalize(child, lineage, ctx, child_path)

    # --- 3. validate ------------------------------------------------------------------------------------

    @classmethod
    def validate(cls, bound: Bound, ctx: Context, path: str) -> None:
        typed = True
        problems = ctx.problems
        for info in cls.fields():
            value = bound.values[info.name]
            type_ = info.type
            if value is REPORTED or (isinstance(value, list) and any(v is REPORTED for v in value)):
                typed = False
            elif value is MISSING or (value is None and not type_.optional):
                problems.add(join(path, info.key), "is not set", expected=type_.describe)
                typed = False
                continue
            elif not type_.check(value):
                problems.add(join(path, info.key), "has the wrong type", got=value, expected=type_.describe)
                typed = False
                continue
            elif info.check is not None:
                error = info.check(value)
                if error:
                    problems.add(join(path, info.key), error, got=value)
            if isinstance(value, (Bound, list)):
                for child, child_path in _children(value, path, info.key):
                    child.cls.validate(child, ctx, child_path)
        if typed:
            cls.check(bound, ctx, path)

    @classmethod
    def check(cls, bound: Bound, ctx: Context, path: str) -> None:
        """Cross-field rules; runs when every field has the right type. Add to ``ctx.problems``."""

    # --- 4. build -----------------------------------------------------------------------------------------

    @classmethod
    def build(cls, bound: Bound) -> Section:
        return cls(**{name: _build(value) for name, value in bound.values.items()})

    # --- canonical JSON -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """NNI's ``ConfigBase.json()`` shape: camelCase keys, None left out, in field order."""
        out: dict[str, Any] = {}
        for info in self.fields():
            value = getattr(self, info.name)
            if value is not None:
                out[info.key] = _json(value)
        return out


def _children(value: Any, path: str, key: str) -> list[tuple[Bound, str]]:
    """The sections held by one field's value, with their paths."""
    if isinstance(value, Bound):
        return [(value, join(path, key))]
    if isinstance(value, list):
        where = join(path, key)
        return [(item, join(where, i)) for i, item in enumerate(value) if isinstance(item, Bound)]
    return []


def _build(value: Any) -> Any:
    if isinstance(value, Bound):
        return value.cls.build(value)
    if isinstance(value, list):
        return [_build(v) for v in value]
    return value


def _json(value: Any) -> Any:
    if isinstance(value, Section):
        return value.to_json()
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


@lru_cache(maxsize=None)
def _fields_of(cls: type) -> tuple[FieldInfo, ...]:
    # Field order as NNI's dataclasses have it: a base class's fields first, a field redefined in a
    # subclass (e.g. ``platform``) keeps the base class's position.
    order: list[str] = []
    for klass in reversed(cls.__mro__):
        if attrs.has(klass):
            for a in attrs.fields(klass):
                if a.name not in order:
                    order.append(a.name)
    by_name = {a.name: a for a in attrs.fields(cls)}
    infos = []
    for name in order:
        a = by_name[name]
        type_, path, check = a.metadata["nni"]
        if a.default is attrs.NOTHING:
            default = MISSING
        elif isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
            default = a.default.factory()
        else:
            default = a.default
        infos.append(FieldInfo(name, camel_case(name), normalize_key(name), type_, default, path, check))
    return tuple(infos)
