"""Reference outputs of a student check kit: record them on the server, replay them in the kit.

The kit's checks see ``ctx.ref`` as a :class:`ReplayReference`: a call returns the output the
reference solution gave for the same function name and argument hash (:func:`args_key`),
recorded when the kit was built by running the visible checks with a
:class:`RecordingReference`. A call it cannot answer raises :class:`ReplayMiss` (the test then
runs only on the course server). The outputs file uses the wire format of
:mod:`grader.engine.protocol` (never pickle).
"""
from __future__ import annotations

import copy
import hashlib
import logging
import struct
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from grader.engine.errors import AssignmentError, NotRunnableHere, ProtocolError
from grader.engine.protocol import decode_message, encode_message

log = logging.getLogger(__name__)


class KitError(AssignmentError):
    """A kit cannot be built (reference fails a visible test, shared hidden code) or read."""


class ReplayMiss(NotRunnableHere):
    """The kit holds no recorded reference output for this call (name, argument hash)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no recorded reference output for {name}(...)")
        self.name = name


class _Unhashable(Exception):
    pass


# ---------------------------------------------------------------------------- argument hashing
def _feed(h: Any, x: Any, depth: int = 0) -> None:
    if depth > 32:
        raise _Unhashable
    if isinstance(x, np.generic):
        x = np.asarray(x)
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biufc" or x.dtype.fields is not None:
            raise _Unhashable
        h.update(f"nd|{x.dtype.str}|{x.shape}|".encode())
        h.update(np.ascontiguousarray(x).tobytes())
    elif x is None:
        h.update(b"N|")
    elif isinstance(x, bool):
        h.update(b"B1|" if x else b"B0|")
    elif isinstance(x, int):
        h.update(f"i{x}|".encode())
    elif isinstance(x, float):
        h.update(b"f" + struct.pack("<d", x))
    elif isinstance(x, str):
        raw = x.encode()
        h.update(f"s{len(raw)}|".encode() + raw)
    elif isinstance(x, (list, tuple, dict)):
        items = list(x.items()) if isinstance(x, dict) else list(x)
        h.update(b"D(" if isinstance(x, dict) else b"T(" if isinstance(x, tuple) else b"L(")
        for item in items:
            if isinstance(x, dict):
                _feed(h, item[0], depth + 1)
                _feed(h, item[1], depth + 1)
            else:
                _feed(h, item, depth + 1)
        h.update(b")")
    else:
        raise _Unhashable


def args_key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """Return the hex SHA-256 of a reference call: function name, arguments bit for bit.

    Arrays hash by dtype, shape and bytes; floats by their IEEE bits; containers in order.
    Returns None when an argument is of a type that cannot be hashed (then never replayed).
    """
    h = hashlib.sha256(name.encode() + b"|")
    try:
        _feed(h, tuple(args))
        _feed(h, dict(sorted(kwargs.items())))
    except _Unhashable:
        return None
    return h.hexdigest()


# ---------------------------------------------------------------------------- ref stand-ins
class RecordingReference:
    """Wraps the reference module; records the output of every function call and constant."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module
        self.calls: dict[tuple[str, str], Any] = {}
        self.constants: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if isinstance(value, (ModuleType, type)) or not callable(value):
            if not isinstance(value, (ModuleType, type)):
                self.constants[name] = copy.deepcopy(value)
            return value

        def recorded(*args: Any, **kwargs: Any) -> Any:
            key = args_key(name, args, kwargs)
            out = value(*args, **kwargs)
            if key is not None:
                self.calls[(name, key)] = copy.deepcopy(out)
            return out

        return recorded


class ReplayReference:
    """Stands in for ``ctx.ref`` in a kit: answers recorded calls, raises ReplayMiss otherwise."""

    def __init__(self, calls: dict[tuple[str, str], Any], constants: dict[str, Any]) -> None:
        self._calls = calls
        self._constants = constants
        self._names = {name for name, _ in calls}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self._constants:
            return copy.deepcopy(self._constants[name])

        def replay(*args: Any, **kwargs: Any) -> Any:
            key = args_key(name, args, kwargs)
            if key is None or (name, key) not in self._calls:
                raise ReplayMiss(name)
            return copy.deepcopy(self._calls[(name, key)])

        return replay


def save_outputs(path: Path, recorder: RecordingReference) -> int:
    """Write the recorded calls and constants with the wire format (no pickle); return #calls.

    Outputs of a type the protocol cannot carry are dropped (those calls then miss in the kit).
    """
    calls, constants = [], {}
    for (name, key), value in recorder.calls.items():
        try:
            encode_message({"v": value})
        except ProtocolError:
            log.warning("kit: output of %s cannot be stored; that call runs only on the server", name)
            continue
        calls.append([name, key, value])
    for name, value in recorder.constants.items():
        try:
            encode_message({"v": value})
        except ProtocolError:
            continue
        constants[name] = value
    path.write_bytes(encode_message({"calls": calls, "constants": constants}))
    return len(calls)


def load_outputs(path: Path) -> ReplayReference:
    """Read ``reference_outputs.bin``. Raises KitError when it is missing or malformed."""
    try:
        msg = decode_message(path.read_bytes())
        calls = {(str(n), str(k)): v for n, k, v in msg["calls"]}
        constants = dict(msg["constants"])
    except (OSError, ProtocolError, KeyError, TypeError, ValueError) as exc:
        raise KitError(f"{path}: not a readable check-kit output file ({exc}); "
                       "ask your instructor for a fresh kit.") from exc
    return ReplayReference(calls, constants)


__all__ = ["KitError", "RecordingReference", "ReplayMiss", "ReplayReference", "args_key",
           "load_outputs", "save_outputs"]
