"""Pickle disassembly that never unpickles: `pickletools.genops` walks the opcodes and a small symbolic
stack follows what each would push, so imports built from strings (STACK_GLOBAL, memo lookups included)
are resolved and the callables REDUCE/INST/OBJ/NEWOBJ would call are known.

Nothing here imports the modules a pickle names or calls anything it builds. Values are only ever
ints, strings, bytes, tuples, lists and dicts of the pickle's own data, plus opaque markers.
"""

from __future__ import annotations

import _compat_pickle
import gc
import io
import math
import mmap
import pickletools
from dataclasses import dataclass, field
from typing import Any

from assay.security.artifacts.limits import ScanLimits
from assay.security.artifacts.models import Finding, ImportSeen
from assay.security.artifacts.rules import Rules

JOBLIB_WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")


class PickleMalformed(ValueError):
    """The stream is not a pickle pickle.load could finish; `offset` is where it broke."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class Window:
    """A read-only cursor over bytes or an mmap whose reads are clamped to the end, so a lying length
    prefix cannot allocate more than the file holds, and whose lines stop at `max_line`. `read` and
    `tell` are the buffer's own C methods: genops calls them once or twice per opcode."""

    def __init__(self, buf: Any, start: int = 0, max_line: int = 1 << 20) -> None:
        src = buf if isinstance(buf, mmap.mmap) else io.BytesIO(buf)  # BytesIO shares the bytes
        src.seek(start)
        self.src = src
        self.find = buf.find
        self.end = len(buf)
        self.max_line = max_line
        self.read = src.read
        self.tell = src.tell
        self.seek = src.seek

    def readline(self) -> bytes:
        pos = self.tell()
        stop = min(self.end, pos + self.max_line)
        i = self.find(b"\n", pos, stop)
        return self.read((stop if i < 0 else i + 1) - pos)

    def release(self) -> None:
        if isinstance(self.src, io.BytesIO):
            self.src.close()


class _Mark:
    def __repr__(self) -> str:
        return "MARK"


MARK = _Mark()


class _Unknown:
    def __repr__(self) -> str:
        return "?"


UNKNOWN = _Unknown()


@dataclass(eq=False)
class Ref:
    module: str
    name: str


@dataclass(eq=False)
class Call:
    func: Any
    args: Any
    state: Any = None


@dataclass
class PickleScan:
    """What one pickle stream held; `end` is the offset after STOP."""

    start: int
    end: int = 0
    opcodes: int = 0
    protocol: int = 0
    findings: list[Finding] = field(default_factory=list)
    imports: list[ImportSeen] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    repeats: int = 0
    arrays_skipped: int = 0
    array_bytes_skipped: int = 0
    """Import opcodes naming a global this stream already imported (reported once, at the first)."""


_SIMPLE_PUSH = {
    "INT",
    "BININT",
    "BININT1",
    "BININT2",
    "LONG",
    "LONG1",
    "LONG4",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "BINBYTES",
    "SHORT_BINBYTES",
    "BINBYTES8",
    "UNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "FLOAT",
    "BINFLOAT",
    "BYTEARRAY8",
}


class _Machine:
    def __init__(self, win: Window, rules: Rules, limits: ScanLimits, member: str | None, file: str):
        self.win = win
        self.rules = rules
        self.limits = limits
        self.member = member
        self.file = file
        self.stack: list[Any] = []
        self.memo: dict[Any, Any] = {}
        self.seen: dict[tuple[str, str], Ref] = {}

    # -- stack helpers -------------------------------------------------------------------------------
    def pop(self, pos: int, name: str) -> Any:
        if not self.stack:
            raise PickleMalformed(f"{name} at byte {pos} pops an empty stack", pos)
        value = self.stack.pop()
        if value is MARK:
            raise PickleMalformed(f"{name} at byte {pos} pops a MARK", pos)
        return value

    def pop_mark(self, pos: int, name: str) -> list[Any]:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i] is MARK:
                items = self.stack[i + 1 :]
                del self.stack[i:]
                return items
        raise PickleMalformed(f"{name} at byte {pos} has no MARK before it", pos)

    def top(self, pos: int, name: str) -> Any:
        if not self.stack or self.stack[-1] is MARK:
            raise PickleMalformed(f"{name} at byte {pos} needs a value on the stack", pos)
        return self.stack[-1]

    # -- findings ------------------------------------------------------------------------------------
    def record_import(self, scan: PickleScan, module: str, name: str, opcode: str, pos: int) -> Ref:
        if scan.protocol < 3:
            module, name = py2_to_py3(module, name)
        key = (module, name)
        if (
            key in self.seen
        ):  # each import once, at its first place: a hostile file may repeat it millions of times
            ref = self.seen[key]
            scan.repeats += 1
            return ref
        verdict = self.rules.judge_import(module, name)
        self.seen[key] = Ref(module, name)
        scan.imports.append(
            ImportSeen(
                module=module, name=name, opcode=opcode, offset=pos, member=self.member, allowed=not verdict
            )
        )
        if verdict is not None:
            kind, severity, reason = verdict
            scan.findings.append(
                self.rules.finding(
                    kind,
                    severity,
                    f"imports {module}.{name} ({reason})",
                    file=self.file,
                    member=self.member,
                    offset=pos,
                    opcode=opcode,
                    import_=f"{module}.{name}",
                )
            )
        return self.seen[key]

    # -- the walk ------------------------------------------------------------------------------------
    def run(self, scan: PickleScan) -> None:
        ops = pickletools.genops(self.win)
        step = self.step
        limit = self.limits.max_opcodes
        count = 0
        try:
            for op, arg, pos in ops:
                count += 1
                if op.name == "STOP":
                    self.pop(pos, "STOP")
                    scan.end = self.win.tell()
                    return
                if count > limit:
                    raise PickleMalformed(f"more than {limit} opcodes", pos)
                step(scan, op, arg, pos)
        except PickleMalformed:
            raise
        except (ValueError, UnicodeDecodeError, OverflowError, TypeError, AttributeError) as exc:
            raise PickleMalformed(str(exc), self.win.tell()) from None
        finally:
            scan.opcodes += count
        raise PickleMalformed(f"pickle ends at byte {self.win.tell()} without a STOP opcode", self.win.tell())

    def step(self, scan: PickleScan, op: Any, arg: Any, pos: int) -> None:  # noqa: C901
        name = op.name
        st = self.stack
        if name in _SIMPLE_PUSH:
            st.append(arg)
        elif name in ("BINPUT", "MEMOIZE", "LONG_BINPUT", "PUT"):
            key = len(self.memo) if name == "MEMOIZE" else arg
            self.memo[key] = self.top(pos, name)
        elif name == "MARK":
            st.append(MARK)
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            if arg not in self.memo:
                raise PickleMalformed(f"{name} at byte {pos} reads memo key {arg!r}, never set", pos)
            st.append(self.memo[arg])
        elif name == "PROTO":
            scan.protocol = int(arg)
        elif name in ("FRAME", "READONLY_BUFFER"):
            return
        elif name == "NONE":
            st.append(None)
        elif name in ("NEWTRUE", "NEWFALSE"):
            st.append(name == "NEWTRUE")
        elif name == "GLOBAL":
            module, _, attr = str(arg).partition(" ")
            st.append(self.record_import(scan, module, attr, name, pos))
        elif name == "STACK_GLOBAL":
            attr = self.pop(pos, name)
            module = self.pop(pos, name)
            if isinstance(module, str) and isinstance(attr, str):
                st.append(self.record_import(scan, module, attr, name, pos))
            else:
                scan.findings.append(
                    self.rules.finding(
                        "unresolved-import",
                        "high",
                        "STACK_GLOBAL takes a module or name that is not a plain string in the pickle",
                        file=self.file,
                        member=self.member,
                        offset=pos,
                        opcode=name,
                    )
                )
                st.append(UNKNOWN)
        elif name == "INST":
            module, _, attr = str(arg).partition(" ")
            ref = self.record_import(scan, module, attr, name, pos)
            st.append(Call(ref, tuple(self.pop_mark(pos, name))))
        elif name == "OBJ":
            items = self.pop_mark(pos, name)
            if not items:
                raise PickleMalformed(f"OBJ at byte {pos} has no class", pos)
            st.append(Call(items[0], tuple(items[1:])))
        elif name == "REDUCE":
            args = self.pop(pos, name)
            func = self.pop(pos, name)
            st.append(Call(func, args))
        elif name == "NEWOBJ":
            args = self.pop(pos, name)
            cls = self.pop(pos, name)
            st.append(Call(cls, args))
        elif name == "NEWOBJ_EX":
            self.pop(pos, name)
            args = self.pop(pos, name)
            cls = self.pop(pos, name)
            st.append(Call(cls, args))
        elif name == "BUILD":
            state = self.pop(pos, name)
            target = self.top(pos, name)
            if isinstance(target, Call):
                target.state = state
                self.after_build(scan, target, pos)
        elif name == "EMPTY_TUPLE":
            st.append(())
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            items = [self.pop(pos, name) for _ in range(n)]
            st.append(tuple(reversed(items)))
        elif name == "TUPLE":
            st.append(tuple(self.pop_mark(pos, name)))
        elif name == "EMPTY_LIST":
            st.append([])
        elif name == "LIST":
            st.append(self.pop_mark(pos, name))
        elif name == "APPEND":
            value = self.pop(pos, name)
            target = self.top(pos, name)
            if isinstance(target, list):
                target.append(value)
        elif name == "APPENDS":
            items = self.pop_mark(pos, name)
            target = self.top(pos, name)
            if isinstance(target, list):
                target.extend(items)
        elif name == "EMPTY_DICT":
            st.append({})
        elif name == "DICT":
            items = self.pop_mark(pos, name)
            st.append(_pairs_to_dict(items))
        elif name == "SETITEM":
            value = self.pop(pos, name)
            key = self.pop(pos, name)
            target = self.top(pos, name)
            if isinstance(target, dict) and isinstance(key, str | int | bytes):
                target[key] = value
        elif name == "SETITEMS":
            items = self.pop_mark(pos, name)
            target = self.top(pos, name)
            if isinstance(target, dict):
                target.update(_pairs_to_dict(items))
        elif name == "POP":
            if st and st[-1] is MARK:
                st.pop()
            else:
                self.pop(pos, name)
        elif name == "POP_MARK":
            self.pop_mark(pos, name)
        elif name == "DUP":
            st.append(self.top(pos, name))
        elif name in ("EXT1", "EXT2", "EXT4"):
            scan.findings.append(
                self.rules.finding(
                    "extension-code",
                    "medium",
                    f"{name} refers to copyreg extension code {arg}; the import it stands for is "
                    "registered at load time and cannot be read from the file",
                    file=self.file,
                    member=self.member,
                    offset=pos,
                    opcode=name,
                )
            )
            st.append(UNKNOWN)
        else:
            self.generic(op, pos)

    def generic(self, op: Any, pos: int) -> None:
        """Any other opcode: pop and push as pickletools' own stack description says."""
        before = list(op.stack_before)
        if before and before[-1] is pickletools.stackslice:
            before = before[:-2]
            self.pop_mark(pos, op.name)
        for _ in before:
            self.pop(pos, op.name)
        self.stack.extend(UNKNOWN for _ in op.stack_after)

    def after_build(self, scan: PickleScan, obj: Call, pos: int) -> None:
        """joblib writes an array's bytes straight after the wrapper's BUILD, outside the pickle
        stream: skip them (or scan the nested pickle of an object array) so the walk resumes on opcodes."""
        func = obj.func
        if not (isinstance(func, Ref) and (func.module, func.name) == JOBLIB_WRAPPER):
            return
        state = obj.state if isinstance(obj.state, dict) else {}
        dtype = _dtype_of(state.get("dtype"))
        shape = state.get("shape")
        if (
            dtype is None
            or not isinstance(shape, tuple)
            or not all(isinstance(d, int) and d >= 0 for d in shape)
        ):
            raise PickleMalformed(
                f"joblib array at byte {pos}: its dtype or shape cannot be read without running code, so the "
                "bytes after it cannot be located",
                pos,
            )
        if dtype.hasobject:
            try:
                nested = scan_stream(self.win, self.rules, self.limits, member=self.member, file=self.file)
            except PickleMalformed as exc:
                part: PickleScan = exc.partial  # type: ignore[attr-defined]
                scan.findings.extend(part.findings)
                scan.imports.extend(part.imports)
                raise
            scan.findings.extend(nested.findings)
            scan.imports.extend(nested.imports)
            scan.opcodes += nested.opcodes
            scan.arrays_skipped += nested.arrays_skipped
            scan.array_bytes_skipped += nested.array_bytes_skipped
            return
        if state.get("numpy_array_alignment_bytes") is not None:
            pad = self.win.read(1)
            if len(pad) != 1:
                raise PickleMalformed(f"joblib array at byte {pos}: padding byte missing", self.win.tell())
            self.win.seek(self.win.tell() + pad[0])
        size = math.prod(shape) * dtype.itemsize
        if self.win.tell() + size > self.win.end:
            raise PickleMalformed(
                f"joblib array at byte {pos}: expected {size} bytes of data, found "
                f"{max(0, self.win.end - self.win.tell())}",
                self.win.tell(),
            )
        self.win.seek(self.win.tell() + size)
        scan.arrays_skipped += 1
        scan.array_bytes_skipped += size


def py2_to_py3(module: str, name: str) -> tuple[str, str]:
    """What Python 3's unpickler imports for a protocol 0-2 pickle's name (`fix_imports`, on by
    default): `commands.getoutput` is `subprocess.getoutput`, `__builtin__.eval` is `builtins.eval`."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _pairs_to_dict(items: list[Any]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for k, v in zip(items[0::2], items[1::2], strict=False):
        if isinstance(k, str | int | bytes):
            out[k] = v
    return out


def _dtype_of(value: Any) -> Any:
    """numpy's dtype for a pickled `numpy.dtype('<spec>', ...)` call; None if it is anything else."""
    import numpy as np

    if not (isinstance(value, Call) and isinstance(value.func, Ref)):
        return None
    if (value.func.module, value.func.name) != ("numpy", "dtype"):
        return None
    args = value.args
    if not (isinstance(args, tuple) and args and isinstance(args[0], str) and len(args[0]) <= 16):
        return None
    try:
        return np.dtype(args[0])
    except (TypeError, ValueError, SyntaxError, KeyError):
        return None


def scan_stream(
    win: Window, rules: Rules, limits: ScanLimits, *, member: str | None = None, file: str = ""
) -> PickleScan:
    """Walk one pickle from the window's position to its STOP. Findings made before a malformed
    opcode are kept on the raised error's partial scan, because pickle.load would already have run them."""
    scan = PickleScan(start=win.tell())
    machine = _Machine(win, rules, limits, member, file)
    collecting = gc.isenabled()
    gc.disable()  # the symbolic stack holds one container per pickled one: full GC passes go quadratic
    try:
        machine.run(scan)
    except PickleMalformed as exc:
        exc.partial = scan  # type: ignore[attr-defined]
        raise
    except RecursionError:
        exc2 = PickleMalformed("nesting too deep to follow", win.tell())
        exc2.partial = scan  # type: ignore[attr-defined]
        raise exc2 from None
    except Exception as exc:  # noqa: BLE001 - hostile input must end in a verdict, never a traceback
        exc3 = PickleMalformed(f"the walk could not follow it ({type(exc).__name__}: {exc})", win.tell())
        exc3.partial = scan  # type: ignore[attr-defined]
        raise exc3 from None
    finally:
        if collecting:
            gc.enable()
    return scan


def scan_pickles(
    buf: Any,
    rules: Rules,
    limits: ScanLimits,
    *,
    member: str | None = None,
    file: str = "",
    start: int = 0,
) -> tuple[list[PickleScan], str]:
    """Every pickle in a buffer, one after another (torch's legacy format writes five in a row, then raw
    storage bytes). Returns the scans and an error: the first pickle must be whole; a later stream that
    breaks ends the walk with a note, since what follows is then data, not opcodes."""
    win = Window(buf, start, max_line=limits.max_line)
    scans: list[PickleScan] = []
    error = ""
    if win.end <= start:
        win.release()
        return [PickleScan(start=0)], f"{member + ': ' if member else ''}empty: no pickle in it"
    try:
        while win.tell() < win.end:
            try:
                scans.append(scan_stream(win, rules, limits, member=member, file=file))
            except PickleMalformed as exc:
                partial: PickleScan = exc.partial  # type: ignore[attr-defined]
                where = f"{member}: " if member else ""
                if not scans:
                    scans.append(partial)
                    error = f"{where}not a valid pickle: {exc} (byte {exc.offset})"
                else:
                    if partial.findings:
                        scans.append(partial)
                    scans[0].notes.append(
                        f"{where}{win.end - partial.start} bytes after pickle {len(scans)} at byte "
                        f"{partial.start} are not opcodes ({exc}); read as data"
                    )
                break
    finally:
        win.release()
    return scans, error
