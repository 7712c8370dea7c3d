"""Allow-list policy for pickle streams: list every global a pickle would import, without loading it.

:func:`analyze_pickles` runs a small symbolic pickle machine over the opcodes
that :func:`pickletools.genops` reads (nothing is ever unpickled).  It keeps
just enough of the stack and the memo to know

* every import: ``GLOBAL`` and ``INST`` (their text argument), ``STACK_GLOBAL``
  (its two string arguments, also when they come back from the memo through
  ``MEMOIZE``/``PUT``/``BINPUT``/``LONG_BINPUT`` and ``GET``/``BINGET``/
  ``LONG_BINGET``), and ``EXT1/2/4`` (copyreg's extension registry);
  Python-2 names are mapped as the unpickler maps them below protocol 3;
* every call: ``REDUCE``, ``NEWOBJ(_EX)``, ``OBJ``, ``INST``, and what is
  called — an imported global, or a value computed while loading;
* nested pickles: ``bytes`` (also ``_codecs.encode(str, 'latin1')``) handed
  to a callable are disassembled too, depth-limited;
* joblib's in-stream NumPy data: after ``BUILD`` of a
  ``joblib.numpy_pickle.NumpyArrayWrapper`` the raw array bytes (or the nested
  object-array pickle) are skipped exactly as ``joblib.load`` reads them; the
  same stream is then also walked as plain ``pickle.load`` would read it, so
  opcodes hidden in "array data" cannot escape.

:func:`evaluate` classifies the imports against the allow-list
(:mod:`.pickle_allowlist`) plus a team's reviewed extras: allowed, known
code execution (critical) or unknown (high).  Constructs no real pickler
writes (an import whose name is computed, a call of a computed value, an
imported object being modified) are findings of their own.
"""

from __future__ import annotations

import _compat_pickle
import io
import pickletools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

from .pickle_allowlist import POLICY_VERSION, SAFE_GLOBALS, critical_reason

__all__ = ["POLICY_VERSION", "Analysis", "PolicyFinding", "PolicyVerdict", "analyze_bytes", "analyze_pickles",
           "evaluate"]

MAX_NESTING = 4
MAX_KEPT_STR = 4096
MAX_KEPT_ITEMS = 64
LOADERS = frozenset({
    "pickle.loads", "pickle._loads", "_pickle.loads", "cPickle.loads", "dill.loads", "dill._dill.loads",
    "cloudpickle.loads", "joblib.numpy_pickle.load", "numpy.loads", "torch.load", "torch.serialization.load",
    "torch.storage._load_from_bytes", "pandas.read_pickle", "marshal.loads",
})
JOBLIB_WRAPPERS = frozenset({"joblib.numpy_pickle.NumpyArrayWrapper",
                             "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"})


class PickleParseError(ValueError):
    """The bytes are not a sequence of complete pickles (or a joblib array record is inconsistent)."""


# --- symbolic values --------------------------------------------------------------------------

class _Opaque:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<value>"


OPAQUE = _Opaque()
_MARK = object()


@dataclass(frozen=True, slots=True)
class Global:
    name: str  # "module.attr" as it would be imported (after the protocol < 3 name mapping)
    dotted: bool  # attr holds a dot: a protocol-4 qualified path walked with getattr


@dataclass(slots=True)
class Call:
    target: object  # a Global, or any other value (a call of a computed value)
    args: object = OPAQUE
    state: object = None


@dataclass(slots=True)
class Dict:
    items: dict = field(default_factory=dict)
    overflow: bool = False


@dataclass(frozen=True, slots=True)
class Bytes:
    value: bytes


@dataclass
class ImportSite:
    forms: set[str] = field(default_factory=set)  # GLOBAL, STACK_GLOBAL, INST, EXT ...
    called: bool = False
    nested: int = 0  # smallest nesting depth it was seen at (0 = the file's own pickle)
    offset: int = 0
    dotted: bool = False


@dataclass
class Analysis:
    imports: dict[str, ImportSite] = field(default_factory=dict)
    anomalies: list[tuple[str, str, str]] = field(default_factory=list)  # (severity, title, detail)
    pickles: int = 0
    opcodes: int = 0
    nested_pickles: int = 0
    joblib_arrays: int = 0
    first_is_torch_magic: bool = False
    raw_ranges: list[tuple[int, int]] = field(default_factory=list)  # joblib array bytes skipped as data
    end: int = 0  # bytes read (the legacy PyTorch layout stops before its raw tensor data)
    last_value: object = None  # what the last pickle returns, as far as it is tracked (ints, strings, tuples)

    def saw(self, name: str, form: str, offset: int, depth: int, dotted: bool = False) -> None:
        site = self.imports.get(name)
        if site is None:
            site = self.imports[name] = ImportSite(nested=depth, offset=offset, dotted=dotted)
        site.forms.add(form if depth == 0 else f"nested {form}")
        site.nested = min(site.nested, depth)
        site.dotted = site.dotted or dotted

    def merge(self, other: Analysis, form_prefix: str = "") -> None:
        for name, site in other.imports.items():
            mine = self.imports.setdefault(name, ImportSite(nested=site.nested, offset=site.offset))
            mine.forms |= {f"{form_prefix}{f}" for f in site.forms}
            mine.called = mine.called or site.called
            mine.nested = min(mine.nested, site.nested)
            mine.dotted = mine.dotted or site.dotted
        self.anomalies += [a for a in other.anomalies if a not in self.anomalies]


TORCH_MAGIC = 0x1950A86A20F9469CFC6C


def _keep(value):
    """What a pushed constant is remembered as (strings and small ints only; the rest is opaque)."""
    if isinstance(value, str):
        return value if len(value) <= MAX_KEPT_STR else OPAQUE
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 or value == TORCH_MAGIC else OPAQUE
    if isinstance(value, bytes | bytearray):
        return Bytes(bytes(value)) if value[:1] == b"\x80" or len(value) <= MAX_KEPT_STR else OPAQUE
    return OPAQUE


class _Machine:
    """One pass over consecutive pickles of a stream."""

    def __init__(self, analysis: Analysis, depth: int, joblib: bool, inline: bool = False,
                 raw_ranges: list[tuple[int, int]] | None = None) -> None:
        self.out = analysis
        # the pickle.load reading of a joblib file: imports outside the bytes joblib reads as raw array
        # data were already seen (with joblib's own memo) and count only when known to run code
        self.raw_ranges = raw_ranges
        self.inline = inline  # a pickle inside the stream of another one (joblib object arrays)
        self.depth = depth
        self.joblib = joblib
        self.plain_check_needed = False

    def run(self, stream: IO[bytes], count: int | None = None, legacy_torch: bool = False) -> None:
        while count is None or self.out.pickles < count:
            base = stream.tell()
            first = stream.read(1)
            if not first:
                break
            self._one(_Prefixed(first, stream, base))
            if self.out.pickles == 1 and legacy_torch and self.out.first_is_torch_magic:
                count = 5  # magic, protocol, sys_info, the object, the storage keys; raw tensor bytes follow
        if self.out.pickles == 0:
            raise PickleParseError("no pickle data")
        if count is not None and self.out.pickles < count:
            raise PickleParseError(f"expected {count} pickles, found {self.out.pickles}")

    def _one(self, stream: IO[bytes]) -> None:
        stack: list = []
        metastack: list[list] = []
        memo: dict[int, object] = {}
        proto = 0
        ints: list[int] = []
        index = self.out.pickles + 1
        try:
            ops = pickletools.genops(stream)
            for opcode, arg, pos in ops:
                self.out.opcodes += 1
                name = opcode.name
                if name in _PUSH_CONST:
                    value = _keep(arg)
                    if isinstance(arg, int) and not isinstance(arg, bool):
                        ints.append(arg)
                    stack.append(value)
                elif name in ("NONE", "NEWTRUE", "NEWFALSE"):
                    stack.append({"NONE": None, "NEWTRUE": True, "NEWFALSE": False}[name])
                elif name in ("EMPTY_LIST", "EMPTY_SET"):
                    stack.append(OPAQUE)
                elif name == "EMPTY_TUPLE":
                    stack.append(())
                elif name == "EMPTY_DICT":
                    stack.append(Dict())
                elif name == "MARK":
                    metastack.append(stack)
                    stack = []
                elif name in ("TUPLE", "LIST", "DICT", "FROZENSET", "POP_MARK", "INST", "OBJ"):
                    items, stack = stack, metastack.pop()
                    self._marked(name, arg, items, stack, pos, proto)
                elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                    n = int(name[-1])
                    if len(stack) < n:
                        raise PickleParseError("stack underflow")
                    items = stack[-n:]
                    del stack[-n:]
                    stack.append(tuple(items))
                elif name in ("APPENDS", "SETITEMS", "ADDITEMS"):
                    items, stack = stack, metastack.pop()
                    target = self._top(stack)
                    self._mutated(target, pos)
                    if name == "SETITEMS" and isinstance(target, Dict):
                        for k, v in zip(items[::2], items[1::2], strict=False):
                            _dict_set(target, k, v)
                elif name in ("APPEND", "SETITEM"):
                    n = 1 if name == "APPEND" else 2
                    if len(stack) < n + 1:
                        raise PickleParseError("stack underflow")
                    values = stack[-n:]
                    del stack[-n:]
                    self._mutated(stack[-1], pos)
                    if name == "SETITEM" and isinstance(stack[-1], Dict):
                        _dict_set(stack[-1], values[0], values[1])
                elif name == "POP":
                    if stack:
                        stack.pop()
                    else:
                        stack = metastack.pop()
                elif name == "DUP":
                    stack.append(self._top(stack))
                elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                    memo[int(arg)] = self._top(stack)
                elif name == "MEMOIZE":
                    memo[len(memo)] = self._top(stack)
                elif name in ("GET", "BINGET", "LONG_BINGET"):
                    if int(arg) not in memo:
                        raise PickleParseError(f"memo key {arg} missing")
                    stack.append(memo[int(arg)])
                elif name == "GLOBAL":
                    stack.append(self._import_text(arg, "GLOBAL", pos, proto))
                elif name == "STACK_GLOBAL":
                    attr, module = self._pop(stack), self._pop(stack)
                    stack.append(self._stack_global(module, attr, pos, proto))
                elif name in ("EXT1", "EXT2", "EXT4"):
                    self.out.anomalies.append((
                        "high", "import through copyreg's extension registry",
                        f"{name} code {arg} imports whatever the loading process registered under that code"))
                    stack.append(OPAQUE)
                elif name == "REDUCE":
                    args, target = self._pop(stack), self._pop(stack)
                    stack.append(self._call(target, args, pos))
                elif name == "NEWOBJ":
                    args, cls = self._pop(stack), self._pop(stack)
                    stack.append(self._call(cls, args, pos))
                elif name == "NEWOBJ_EX":
                    kwargs, args, cls = self._pop(stack), self._pop(stack), self._pop(stack)
                    stack.append(self._call(cls, (args, kwargs), pos))
                elif name == "BUILD":
                    state = self._pop(stack)
                    target = self._top(stack)
                    if isinstance(target, Global):
                        self._modifies(target, pos)
                    elif isinstance(target, Call):
                        target.state = state
                        if self.joblib and isinstance(target.target, Global) and target.target.name in JOBLIB_WRAPPERS:
                            self._joblib_array(target, stream, pos)
                elif name == "PERSID":
                    stack.append(OPAQUE)
                elif name == "BINPERSID":
                    self._pop(stack)
                    stack.append(OPAQUE)
                elif name == "PROTO":
                    proto = int(arg)
                elif name in ("FRAME", "READONLY_BUFFER"):
                    pass
                elif name == "NEXT_BUFFER":
                    stack.append(OPAQUE)
                elif name == "STOP":
                    self.out.last_value = self._pop(stack)
                else:  # pragma: no cover - pickletools knows no other opcode
                    raise PickleParseError(f"unhandled opcode {name}")
        except PickleParseError as exc:
            raise PickleParseError(f"pickle #{index}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - genops raises ValueError; garbage can raise others
            # The exception's text may quote the bytes read (a key, a configuration line): never shown.
            raise PickleParseError(f"pickle #{index} does not parse ({type(exc).__name__})") from None
        if index == 1 and not self.inline:
            self.out.first_is_torch_magic = ints == [TORCH_MAGIC]
        self.out.pickles += 1

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _pop(stack: list):
        if not stack:
            raise PickleParseError("stack underflow")
        return stack.pop()

    @staticmethod
    def _top(stack: list):
        if not stack:
            raise PickleParseError("stack underflow")
        return stack[-1]

    def _marked(self, name: str, arg, items: list, stack: list, pos: int, proto: int) -> None:
        if name == "TUPLE":
            stack.append(tuple(items) if len(items) <= MAX_KEPT_ITEMS else OPAQUE)
        elif name == "DICT":
            value = Dict()
            for k, v in zip(items[::2], items[1::2], strict=False):
                _dict_set(value, k, v)
            stack.append(value)
        elif name in ("LIST", "FROZENSET"):
            stack.append(OPAQUE)
        elif name == "INST":
            cls = self._import_text(arg, "INST", pos, proto)
            stack.append(self._call(cls, tuple(items), pos))
        elif name == "OBJ":
            if not items:
                raise PickleParseError("OBJ without a class")
            stack.append(self._call(items[0], tuple(items[1:]), pos))
        # POP_MARK: the items are dropped

    def _import_text(self, arg: str, form: str, pos: int, proto: int) -> Global:
        module, sep, attr = str(arg).partition(" ")
        if not sep or " " in attr:
            self.out.anomalies.append(("critical", f"ambiguous {form} import",
                                       f"at byte {pos}: the module or attribute name holds a space"))
            attr = attr.replace(" ", "_") or "?"
        return self._record(module, attr, form, pos, proto)

    def _stack_global(self, module, attr, pos: int, proto: int):
        if isinstance(module, str) and isinstance(attr, str):
            return self._record(module, attr, "STACK_GLOBAL", pos, proto)
        self.out.anomalies.append((
            "critical", "import whose name is computed while loading",
            f"STACK_GLOBAL at byte {pos} takes its module or name from a value that is not a plain string "
            "(no pickler writes this; it hides the import from static scanners)"))
        return OPAQUE

    def _record(self, module: str, attr: str, form: str, pos: int, proto: int) -> Global:
        if proto < 3:  # what Unpickler.find_class does with fix_imports=True (the default)
            if (module, attr) in _compat_pickle.NAME_MAPPING:
                module, attr = _compat_pickle.NAME_MAPPING[(module, attr)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        dotted = "." in attr
        ref = Global(f"{module}.{attr}", dotted)
        if self.raw_ranges is not None and not critical_reason(ref.name) \
                and not any(start <= pos < end for start, end in self.raw_ranges):
            return ref
        self.out.saw(ref.name, form, pos, self.depth, dotted)
        return ref

    def _call(self, target, args, pos: int):
        if isinstance(target, Global):
            site = self.out.imports.get(target.name)
            if site is not None:
                site.called = True
            if target.name == "_codecs.encode" and isinstance(args, tuple) and args and isinstance(args[0], str):
                try:
                    return Bytes(args[0].encode("latin-1"))
                except UnicodeEncodeError:
                    return OPAQUE
            self._nested(target.name, args, pos)
        else:
            self.out.anomalies.append((
                "high", "call of a value computed while loading",
                f"at byte {pos}: the callable is the result of an earlier call, not an imported name"))
        return Call(target, args)

    def _nested(self, callee: str, args, pos: int) -> None:
        for value in _flatten(args):
            if not isinstance(value, Bytes):
                continue
            is_loader = callee in LOADERS
            if not is_loader and value.value[:1] != b"\x80":
                continue
            if self.depth + 1 > MAX_NESTING:
                self.out.anomalies.append(("critical", "pickles nested too deeply",
                                           f"more than {MAX_NESTING} levels of pickles inside pickles"))
                return
            inner = Analysis()
            try:
                _Machine(inner, self.depth + 1, joblib=False).run(io.BytesIO(value.value))
            except PickleParseError as exc:
                if is_loader:
                    self.out.anomalies.append(("high", "nested pickle could not be parsed",
                                               f"bytes handed to {callee} at byte {pos}: {exc}"))
                continue
            self.out.nested_pickles += 1 + inner.nested_pickles
            self.out.merge(inner)

    def _mutated(self, target, pos: int) -> None:
        if isinstance(target, Global):
            self._modifies(target, pos)

    def _modifies(self, target: Global, pos: int) -> None:
        self.out.anomalies.append((
            "critical", f"modifies the imported object {target.name}",
            f"at byte {pos} the pickle sets attributes or items on an imported module-level object "
            "(monkey-patching code that runs later)"))

    def _joblib_array(self, wrapper: Call, stream, pos: int) -> None:
        """Skip the array data joblib wrote after this wrapper, as NumpyArrayWrapper.read_array reads it."""
        state = wrapper.state.items if isinstance(wrapper.state, Dict) else {}
        shape, dtype = state.get("shape"), state.get("dtype")
        if not (isinstance(shape, tuple) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise PickleParseError(f"joblib array record at byte {pos} has no readable shape")
        code, elsize = _dtype_code(dtype)
        if code is None:
            raise PickleParseError(f"joblib array record at byte {pos} has a dtype this scanner cannot size")
        self.out.joblib_arrays += 1
        self.plain_check_needed = True
        if code.startswith("O"):
            # object arrays: a complete nested pickle follows in the stream
            base = stream.tell()
            first = stream.read(1)
            if not first:
                raise PickleParseError("joblib object array truncated")
            outer_inline, self.inline = self.inline, True
            try:
                self._one(_Prefixed(first, stream, base))
            finally:
                self.inline = outer_inline
            self.out.pickles -= 1  # part of the enclosing pickle
            return
        count = 1
        for d in shape:
            count *= d
        start = stream.tell()
        if "numpy_array_alignment_bytes" in state:
            pad = stream.read(1)
            if len(pad) != 1:
                raise PickleParseError("joblib array record truncated")
            _skip(stream, pad[0])
        _skip(stream, count * elsize)
        self.out.raw_ranges.append((start, stream.tell()))


_PUSH_CONST = frozenset({"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",
                         "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES",
                         "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "FLOAT", "BINFLOAT"})


def _dict_set(target: Dict, key, value) -> None:
    if target.overflow:
        return
    if len(target.items) >= MAX_KEPT_ITEMS or not isinstance(key, str | int):
        target.overflow = True
        target.items.clear()
        return
    target.items[key] = value


def _flatten(args, depth: int = 0):
    if depth > 3:
        return
    if isinstance(args, tuple):
        for item in args:
            yield from _flatten(item, depth + 1)
    elif isinstance(args, Dict):
        for item in args.items.values():
            yield from _flatten(item, depth + 1)
    else:
        yield args


def _dtype_code(dtype) -> tuple[str | None, int]:
    """(type code, item size) of a pickled ``numpy.dtype(code, align, copy)`` + its BUILD state."""
    if not (isinstance(dtype, Call) and isinstance(dtype.target, Global)
            and dtype.target.name in ("numpy.dtype", "numpy.core.multiarray.dtype", "numpy._core.multiarray.dtype")):
        return None, 0
    args = dtype.args if isinstance(dtype.args, tuple) else ()
    code = args[0] if args and isinstance(args[0], str) else None
    if code is None:
        return None, 0
    state = dtype.state if isinstance(dtype.state, tuple) else ()
    elsize = state[5] if len(state) > 5 and isinstance(state[5], int) else -1
    if code.startswith("O"):
        return code, 8
    if elsize <= 0:
        import numpy as np

        try:
            elsize = int(np.dtype(code).itemsize)  # a type string such as 'f8' or 'V24': no code runs
        except (TypeError, ValueError):
            return None, 0
    return code, elsize


def _skip(stream, n: int) -> None:
    while n > 0:
        chunk = stream.read(min(n, 1 << 20))
        if not chunk:
            raise PickleParseError("joblib array data truncated")
        n -= len(chunk)


class _Prefixed(io.RawIOBase):
    """A stream with one already-read byte put back in front; counts its own position (no seeking back,
    so it works on decompressors and zip members)."""

    def __init__(self, first: bytes, raw: IO[bytes], base: int = 0) -> None:
        super().__init__()
        self._first, self._raw, self._pos = first, raw, base

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if self._first:
            head, self._first = self._first, b""
            if size is None or size < 0:
                data = head + self._raw.read()
            else:
                data = head + (self._raw.read(size - 1) if size > 1 else b"")
        else:
            data = self._raw.read(size)
        self._pos += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        if self._first:
            head, self._first = self._first, b""
            data = head if head == b"\n" else head + self._raw.readline(-1 if size is None or size < 0 else size - 1)
        else:
            data = self._raw.readline(size)
        self._pos += len(data)
        return data


def analyze_pickles(open_stream, count: int | None = None, legacy_torch: bool = False) -> Analysis:
    """Walk every pickle of a stream.  ``open_stream()`` returns a fresh binary stream at its start.

    With ``count`` None every byte up to the end must belong to a complete pickle; the legacy PyTorch
    layout (``legacy_torch``) stops after its five pickles.  Raises :class:`PickleParseError`.
    """
    analysis = Analysis()
    machine = _Machine(analysis, 0, joblib=True)
    with open_stream() as stream:
        machine.run(stream, count=count, legacy_torch=legacy_torch)
        analysis.end = stream.tell()
    if machine.plain_check_needed:
        # What plain pickle.load would execute if it read the "array data" as opcodes.
        plain = Analysis()
        try:
            with open_stream() as stream:
                _Machine(plain, 0, joblib=False, raw_ranges=analysis.raw_ranges).run(stream, count=count)
        except PickleParseError:
            pass  # expected: array bytes are not opcodes; everything read before that is in `plain`
        plain.anomalies = [a for a in plain.anomalies if a[0] == "critical"]
        analysis.merge(plain, form_prefix="pickle.load reading: ")
    return analysis


def analyze_bytes(data: bytes) -> Analysis:
    return analyze_pickles(lambda: io.BytesIO(data))


# --- the policy -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PolicyFinding:
    severity: str  # "critical" | "high"
    name: str
    reason: str
    forms: tuple[str, ...] = ()


@dataclass
class PolicyVerdict:
    findings: list[PolicyFinding] = field(default_factory=list)
    allowed: dict[str, str] = field(default_factory=dict)  # name -> "default" | "team"
    imports: list[str] = field(default_factory=list)

    @property
    def dangerous(self) -> bool:
        return any(f.severity in ("critical", "high") for f in self.findings)


def evaluate(analysis: Analysis, extra_allowed: Mapping[str, str] | None = None) -> PolicyVerdict:
    """Classify every import: allowed (documented default or the team's reviewed extras), known code
    execution (critical), or unknown (high).  Dotted attribute paths are never allowed."""
    extra = dict(extra_allowed or {})
    verdict = PolicyVerdict(imports=sorted(analysis.imports))
    for name in sorted(analysis.imports):
        site = analysis.imports[name]
        forms = tuple(sorted(site.forms))
        danger = critical_reason(name)
        if site.dotted:
            verdict.findings.append(PolicyFinding(
                "critical" if danger else "high", name,
                danger or "imported through an attribute path (never allowed: the path can reach anything)", forms))
        elif name in SAFE_GLOBALS:
            verdict.allowed[name] = "default"
        elif danger:
            verdict.findings.append(PolicyFinding("critical", name, danger, forms))
        elif name in extra:
            verdict.allowed[name] = "team"
        else:
            verdict.findings.append(PolicyFinding("high", name, "not on the allow-list of safe reconstructors",
                                                  forms))
    for severity, title, detail in analysis.anomalies:
        verdict.findings.append(PolicyFinding(severity, title, detail))
    return verdict
