"""Host side of the pipe protocol between the grader and the untrusted child.

Frame: ``u32 big-endian length`` + payload, at most ``max_bytes`` (``Limits.reply_bytes``).
Payload: ``u32 header length`` + UTF-8 JSON header (at most :data:`MAX_HEADER_BYTES`) + binary
blobs. The header is ``{"blobs": [len, ...], "body": <message>}``; each blob is the raw C-order
buffer of one array, its dtype and shape in the JSON tag that refers to it (no pickles, no
``.npy`` headers to parse). Values inside a message are a tagged tree:

- JSON null/bool/int/str and finite floats stand for themselves; JSON arrays are lists;
- ``{"$": "f", "v": "nan" | "inf" | "-inf"}`` a non-finite float;
- ``{"$": "tuple", "v": [...]}``, ``{"$": "dict", "k": [...], "v": [...]}`` (str/int keys);
- ``{"$": "nd", "i": n, "d": "<f8", "s": [3, 4]}`` the ndarray in blob ``n``: dtype string
  ``d`` (``numpy.dtype.str`` of a bool, int, uint, float or complex dtype: :data:`WIRE_DTYPES`),
  shape ``s`` (at most 32 non-negative ints); the blob holds exactly prod(s) x itemsize bytes;
- ``{"$": "np", "d": "float64", "v": x}`` a numpy scalar.

The host never unpickles and trusts nothing from the child: sizes, nesting depth, tags, dtypes
(a whitelist of strings, never ``np.dtype(text)``), shapes against blob lengths, blob bounds and
the range of integers (at most :data:`MAX_INT` in magnitude, the child's own
limit) are all validated, and any violation raises :class:`ProtocolError`: ``decode_message``
raises nothing else, whatever the bytes (a malformed frame is the student's fault, never ours). The amount
of work per frame is bounded: at most :data:`MAX_ARRAYS` blobs and :data:`MAX_JSON_NODES` JSON values
nested at most :data:`MAX_DEPTH` levels, counted in one pass while decoding; with a
``deadline`` (the caller's CPU budget) decoding stops with :class:`CostlyMessage` once it is
passed (docs/engine.md gives the measured worst case).
``grader/engine/child.py`` holds the child's own copy of this format (it may not import us).
"""
from __future__ import annotations

import gc
import json
import math
import struct
import time
from typing import Any

import numpy as np

from grader.engine.errors import ProtocolError

MAX_DEPTH = 32
#: Longest JSON part of a frame (arrays travel as raw blobs beside it). The child refuses to
#: send more ("return numpy arrays for large data"); honest replies are far below (dicts of
#: arrays, tuples, numbers: a few KB). Decoding the costliest 1 MiB header (199 000 values)
#: takes ~16 ms (8 MB took 0.13 s, over the trusted CPU budget's floor in one reply).
MAX_HEADER_BYTES = 1024 * 1024
#: Most array blobs in one frame. Checked before anything is decoded: each costs the host about
#: 2 us to read whatever its size (0.1 ms when they were .npy files parsed by np.load: a frame
#: of ~290k empty arrays once cost 28 s of host CPU). The largest legitimate batch fits: a
#: gradient check asks for 4096 perturbed evaluations per request, each returning one loss
#: (real-number losses come back packed in one array).
MAX_ARRAYS = 4096
#: Most dimensions of an array on the wire (numpy's own limit is 64).
MAX_DIMS = 32
#: Most JSON values (objects, arrays, strings, numbers...) in one header, and their deepest
#: nesting (each tagged value level is up to two JSON levels, plus the header's own two).
MAX_JSON_NODES = 200_000
MAX_JSON_DEPTH = 2 * MAX_DEPTH + 4
#: Largest integer magnitude a frame may hold (the child refuses to send larger ones): bigger
#: ones cannot be turned into a float (OverflowError) and cost the host time to print.
MAX_INT = 10 ** 300
_MAX_INT_DIGITS = len(str(MAX_INT))
_SCALAR_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                  "uint64", "float16", "float32", "float64", "longdouble", "complex64",
                  "complex128"}
_U32 = struct.Struct(">I")


def _wire_dtypes() -> dict[str, np.dtype]:
    """Every dtype string an array may carry on the wire, both byte orders: ``{"<f8": ...}``."""
    out: dict[str, np.dtype] = {}
    for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                 "uint64", "float16", "float32", "float64", "longdouble", "complex64",
                 "complex128", "clongdouble"):
        for order in "<>":
            dt = np.dtype(name).newbyteorder(order)
            out[dt.str] = dt
    return out


#: dtype string (``numpy.dtype.str``) -> dtype, for the arrays a frame may hold.
WIRE_DTYPES = _wire_dtypes()


def encode_message(body: Any, max_bytes: int = 2**31) -> bytes:
    """Encode a message (dict of plain data with arrays anywhere) into one payload.

    Raises:
        ProtocolError: a value of an unsupported type, or a payload above ``max_bytes``.
    """
    blobs: list[bytes] = []
    tree = _encode(body, blobs, 0, top=True)
    header = json.dumps({"blobs": [len(b) for b in blobs], "body": tree},
                        allow_nan=False, separators=(",", ":")).encode()
    payload = b"".join([_U32.pack(len(header)), header, *blobs])
    if len(payload) > max_bytes:
        raise ProtocolError(f"message of {len(payload)} bytes exceeds the limit of {max_bytes}")
    return payload


def _encode(x: Any, blobs: list[bytes], depth: int, top: bool = False) -> Any:
    if depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply to send")
    # Fast paths by exact type (gradient checks send thousands of [path, index, delta] edits);
    # subclasses and everything else take the general branches below.
    t = type(x)
    if t is int or t is str or x is None or t is bool:
        return x
    if t is float:
        return x if math.isfinite(x) else {"$": "f", "v": repr(x)}
    if t is list:
        return [v if type(v) is int or type(v) is str else _encode(v, blobs, depth + 1)
                for v in x]
    if t is tuple:
        return {"$": "tuple", "v": [v if type(v) is int or type(v) is str
                                    else _encode(v, blobs, depth + 1) for v in x]}
    if isinstance(x, np.generic):
        if x.dtype.name not in _SCALAR_DTYPES:
            raise ProtocolError(f"cannot send a numpy scalar of dtype {x.dtype}")
        return {"$": "np", "d": x.dtype.name, "v": _encode(x.item(), blobs, depth + 1)}
    if x is None or isinstance(x, (bool, str, int)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else {"$": "f", "v": repr(x)}
    if isinstance(x, np.ndarray):
        if x.dtype.str not in WIRE_DTYPES or x.dtype.fields is not None or x.ndim > MAX_DIMS:
            raise ProtocolError(f"cannot send an array of dtype {x.dtype}")
        blobs.append(x.tobytes())  # C order whatever the array's layout
        return {"$": "nd", "i": len(blobs) - 1, "d": x.dtype.str, "s": list(x.shape)}
    if isinstance(x, dict):
        if top:
            return {str(k): _encode(v, blobs, depth + 1) for k, v in x.items()}
        return {"$": "dict", "k": [_encode(k, blobs, depth + 1) for k in x],
                "v": [_encode(v, blobs, depth + 1) for v in x.values()]}
    if isinstance(x, list):
        return [_encode(v, blobs, depth + 1) for v in x]
    if isinstance(x, tuple):
        return {"$": "tuple", "v": [_encode(v, blobs, depth + 1) for v in x]}
    raise ProtocolError(f"cannot send a value of type {type(x).__name__}")


class CostlyMessage(ProtocolError):
    """Decoding a frame would exceed the CPU budget it was given (``decode_message``'s
    ``deadline``): the child's reply is too costly to read, which is the student's fault."""


#: Nodes decoded between two looks at the CPU clock (a look costs about 1 us; 4096 nodes about
#: 2 ms): the most a deadline can be overrun by, apart from ``json.loads`` itself (C; about
#: 20 ms for the largest header accepted).
_CLOCK_EVERY = 4096


def decode_message(payload: bytes, *, deadline: float | None = None,
                   clock: Any = time.thread_time) -> dict[str, Any]:
    """Decode and validate one payload from the child; return its message dict.

    ``deadline`` (a value of ``clock()``, default the calling thread's CPU time) bounds the work:
    past it decoding stops with :class:`CostlyMessage` (the caller's CPU budget for reading the
    child's replies). One pass over the values validates, counts (:data:`MAX_JSON_NODES`) and
    converts them; flat lists of plain numbers and strings are taken as they are.

    Raises:
        ProtocolError: anything malformed (bad lengths, JSON, tags, dtypes, nesting, blobs),
            CostlyMessage when past ``deadline``.
    """
    # No garbage collection while the frame's containers are built (up to 200 000 of them): a
    # full collection in a long-running process walks every object it holds, which cost a
    # decode several times its own work in a loaded test run.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _decode_message(payload, deadline, clock)
    finally:
        if paused:
            gc.enable()


def _decode_message(payload: bytes, deadline: float | None, clock: Any) -> dict[str, Any]:
    if len(payload) < 4:
        raise ProtocolError("frame shorter than its header length")
    (hlen,) = _U32.unpack_from(payload, 0)
    if hlen > len(payload) - 4:
        raise ProtocolError("header length out of bounds")
    if hlen > MAX_HEADER_BYTES:
        raise ProtocolError(f"the reply's JSON part is {hlen} bytes, more than the limit of "
                            f"{MAX_HEADER_BYTES}: too many Python values (numbers, strings, "
                            "lists) or arrays; return numpy arrays for large data")
    raw = payload[4:4 + hlen]
    # Every JSON value but the first follows a comma or an opening bracket: a cheap upper bound
    # on the values, so that a header of millions of tiny values is not even parsed.
    if raw.count(b",") + raw.count(b"[") + raw.count(b"{") > 2 * MAX_JSON_NODES:
        raise ProtocolError(f"frame holds more than {MAX_JSON_NODES} values")
    try:
        # Integers are range-checked by the decoder (CPython refuses more than 4300 digits).
        header = json.loads(raw.decode("utf-8"), parse_constant=_parse_constant)
    except ProtocolError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"header is not valid JSON: {type(exc).__name__}") from exc
    try:
        return _decode_header(header, payload, hlen, deadline, clock)
    except ProtocolError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoding is pure parsing of the child's bytes:
        # whatever a shape no check above foresaw raises, the frame is malformed
        raise ProtocolError(f"malformed message ({type(exc).__name__})") from exc


def _parse_constant(text: str) -> float:
    """JSON hook for the non-standard NaN/Infinity literals: the protocol tags those instead."""
    raise ProtocolError(f"bare {text[:20]} in a frame (non-finite floats are tagged)")


def _decode_header(header: Any, payload: bytes, hlen: int, deadline: float | None,
                   clock: Any) -> dict[str, Any]:
    """Validate the parsed JSON ``header`` of ``payload`` and decode its body."""
    if not isinstance(header, dict) or set(header) != {"blobs", "body"}:
        raise ProtocolError("header must have exactly the keys 'blobs' and 'body'")
    lengths = header["blobs"]
    if isinstance(lengths, list) and len(lengths) > MAX_ARRAYS:
        raise ProtocolError(f"frame holds {len(lengths)} arrays; the limit is {MAX_ARRAYS}")
    if not isinstance(lengths, list) or not all(
            type(n) is int and n >= 0 for n in lengths):
        raise ProtocolError("'blobs' must be a list of non-negative integers")
    if 4 + hlen + sum(lengths) != len(payload):
        raise ProtocolError("blob lengths do not add up to the frame length")
    offsets, pos = [], 4 + hlen
    for n in lengths:
        offsets.append((pos, pos + n))
        pos += n
    body = header["body"]
    if not isinstance(body, dict):
        raise ProtocolError("message body must be a JSON object")
    decoder = _Decoder(payload, offsets, deadline, clock)
    decoder.count(2 * len(body) + len(lengths))
    return {str(k): decoder.value(v, 1) for k, v in body.items()}


_PLAIN = frozenset({int, float, str, bool, type(None)})


class _Decoder:
    def __init__(self, payload: bytes, offsets: list[tuple[int, int]],
                 deadline: float | None = None, clock: Any = time.thread_time) -> None:
        self.payload = payload
        self.view = memoryview(payload)
        self.offsets = offsets
        self.used: set[int] = set()
        self.deadline = deadline
        self.clock = clock
        self.nodes = 0
        self.next_look = _CLOCK_EVERY

    def count(self, n: int) -> None:
        """Count ``n`` more JSON values; ProtocolError past MAX_JSON_NODES, CostlyMessage past
        the deadline."""
        self.nodes += n
        if self.nodes > MAX_JSON_NODES:
            raise ProtocolError(f"frame holds more than {MAX_JSON_NODES} values")
        if self.nodes >= self.next_look:
            self.next_look = self.nodes + _CLOCK_EVERY
            self.look()

    def look(self) -> None:
        if self.deadline is not None and self.clock() > self.deadline:
            raise CostlyMessage(f"reading the reply cost more than its CPU budget (stopped after "
                                f"{self.nodes} values)")

    def value(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError("value nested too deeply")
        t = type(node)
        if t is str or t is float or t is bool or node is None:
            return node
        if t is int:
            if not -MAX_INT <= node <= MAX_INT:
                raise ProtocolError(f"integer out of range (limit {MAX_INT:.0e})")
            return node
        if t is list:
            return self.items(node, depth + 1)
        if t is not dict:
            raise ProtocolError(f"unexpected JSON node {t.__name__}")
        self.count(2 * len(node))
        tag = node.get("$")
        if not (tag is None or isinstance(tag, str)):
            raise ProtocolError("a tag must be a string")
        if tag == "f" and set(node) == {"$", "v"} and isinstance(node["v"], str) \
                and node["v"] in ("nan", "inf", "-inf"):
            return float(node["v"])
        if tag == "tuple" and set(node) == {"$", "v"} and isinstance(node["v"], list):
            return tuple(self.items(node["v"], depth + 1))
        if tag == "dict" and set(node) == {"$", "k", "v"} and isinstance(node["k"], list) \
                and isinstance(node["v"], list) and len(node["k"]) == len(node["v"]):
            keys = self.items(node["k"], depth + 1)
            if not all(type(k) is str or type(k) is int for k in keys):
                raise ProtocolError("dict keys must be str or int")
            return dict(zip(keys, self.items(node["v"], depth + 1)))
        if tag == "nd" and len(node) == 4 and type(node.get("i")) is int \
                and type(node.get("d")) is str and type(node.get("s")) is list:
            return self.array(node["i"], node["d"], node["s"])
        if tag == "np" and set(node) == {"$", "d", "v"} and isinstance(node["d"], str) \
                and node["d"] in _SCALAR_DTYPES:
            v = self.value(node["v"], depth + 1)
            if isinstance(v, (list, tuple, dict)) or v is None or isinstance(v, str):
                raise ProtocolError("numpy scalar with a non-numeric value")
            try:
                return np.dtype(node["d"]).type(v)
            except (TypeError, ValueError, OverflowError) as exc:
                raise ProtocolError(f"bad numpy scalar: {exc}") from exc
        raise ProtocolError(f"unknown or malformed tag {str(tag)[:20]!r}")

    def items(self, node: list[Any], depth: int) -> list[Any]:
        """The decoded elements of a JSON array whose elements sit at ``depth``."""
        self.count(len(node))
        types = set(map(type, node))
        if types <= _PLAIN:  # numbers and strings only: taken as they are
            if depth > MAX_DEPTH and node:
                raise ProtocolError("value nested too deeply")
            if int in types:
                ints = [v for v in node if type(v) is int]
                if not -MAX_INT <= min(ints) <= max(ints) <= MAX_INT:
                    raise ProtocolError(f"integer out of range (limit {MAX_INT:.0e})")
            return node
        return [self.value(v, depth) for v in node]

    def array(self, i: int, dtype_str: str, shape: list[Any]) -> np.ndarray:
        """The ndarray of dtype ``dtype_str`` and ``shape`` in blob ``i`` (raw C-order bytes).

        Raises ProtocolError for a dtype string not in :data:`WIRE_DTYPES` (objects, strings,
        structured or unknown dtypes), a shape that is not at most :data:`MAX_DIMS` non-negative
        ints, a blob whose length is not prod(shape) x itemsize, or a blob used twice.
        """
        if not 0 <= i < len(self.offsets) or i in self.used:
            raise ProtocolError("array reference out of range or used twice")
        self.used.add(i)
        self.count(_ARRAY_WEIGHT)
        dtype = WIRE_DTYPES.get(dtype_str)
        if dtype is None:
            raise ProtocolError(f"array of unsupported dtype {dtype_str[:20]!r} (bool, int, uint, "
                                "float or complex only; no objects, strings or structured dtypes)")
        if len(shape) > MAX_DIMS or not all(type(d) is int and 0 <= d < 2 ** 63 for d in shape):
            raise ProtocolError(f"array shape must be at most {MAX_DIMS} non-negative integers")
        start, end = self.offsets[i]
        count = math.prod(shape)
        if count * dtype.itemsize != end - start:
            raise ProtocolError(f"array data of {end - start} bytes does not match its dtype "
                                f"{dtype_str} and shape (expected {count} x {dtype.itemsize})")
        try:
            flat = np.frombuffer(self.view[start:end], dtype=dtype, count=count)
            return flat.reshape(shape).copy()
        except (TypeError, ValueError, OverflowError, MemoryError) as exc:
            raise ProtocolError(f"array blob cannot be read: {type(exc).__name__}") from exc


#: An array counts as this many JSON values towards MAX_JSON_NODES and the clock's looks.
_ARRAY_WEIGHT = 16


def frame(payload: bytes) -> bytes:
    """Prefix ``payload`` with its u32 big-endian length."""
    return _U32.pack(len(payload)) + payload


def frame_length(prefix: bytes, max_bytes: int) -> int:
    """Return the payload length announced by a 4-byte prefix; ProtocolError above ``max_bytes``."""
    (n,) = _U32.unpack(prefix)
    if n > max_bytes:
        raise ProtocolError(f"reply of {n} bytes exceeds the limit of {max_bytes} bytes")
    return n
