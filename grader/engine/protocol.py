"""Host side of the pipe protocol between the grader and the untrusted child.

Frame: ``u32 big-endian length`` + payload, at most ``max_bytes`` (``Limits.reply_bytes``).
Payload: ``u32 header length`` + UTF-8 JSON header + binary blobs. The header is
``{"blobs": [len, ...], "body": <message>}``; each blob is one ``.npy`` file (numpy's format,
written with ``allow_pickle=False``). Values inside a message are a tagged tree:

- JSON null/bool/int/str and finite floats stand for themselves; JSON arrays are lists;
- ``{"$": "f", "v": "nan" | "inf" | "-inf"}`` a non-finite float;
- ``{"$": "tuple", "v": [...]}``, ``{"$": "dict", "k": [...], "v": [...]}`` (str/int keys);
- ``{"$": "nd", "i": n}`` the ndarray in blob ``n`` (numeric or bool dtype only);
- ``{"$": "np", "d": "float64", "v": x}`` a numpy scalar.

The host never unpickles and trusts nothing from the child: sizes, nesting depth, tags, dtypes,
blob bounds and the range of integers (at most :data:`MAX_INT` in magnitude, the child's own
limit) are all validated, and any violation raises :class:`ProtocolError`: ``decode_message``
raises nothing else, whatever the bytes (a malformed frame is the student's fault, never ours). The amount
of work per frame is bounded before anything is decoded: at most :data:`MAX_ARRAYS` blobs and
:data:`MAX_JSON_NODES` JSON values nested at most :data:`MAX_JSON_DEPTH` deep (docs/engine.md
gives the measured worst case).
``grader/engine/child.py`` holds the child's own copy of this format (it may not import us).
"""
from __future__ import annotations

import io
import json
import math
import struct
from typing import Any

import numpy as np

from grader.engine.errors import ProtocolError

MAX_DEPTH = 32
MAX_HEADER_BYTES = 8 * 1024 * 1024  # JSON part; arrays travel as .npy blobs
#: Most .npy blobs in one frame. Checked before anything is decoded: each costs the host about
#: 0.1 ms to parse whatever its size, so a frame of ~290k empty arrays once cost 28 s of host
#: CPU. The largest legitimate batch fits: gradcheck sends 4096 perturbed evaluations per
#: request, each returning one loss (possibly a 0-d array).
MAX_ARRAYS = 4096
#: Longest .npy header accepted (numpy pads it to 64-byte multiples; 118 bytes for up to
#: about ten dimensions, 246 for about twenty).
MAX_NPY_HEADER = 246
#: Most JSON values (objects, arrays, strings, numbers...) in one header, and their deepest
#: nesting (each tagged value level is up to two JSON levels, plus the header's own two).
MAX_JSON_NODES = 200_000
MAX_JSON_DEPTH = 2 * MAX_DEPTH + 4
#: Largest integer magnitude a frame may hold (the child refuses to send larger ones): bigger
#: ones cannot be turned into a float (OverflowError) and cost the host time to print.
MAX_INT = 10 ** 300
_MAX_INT_DIGITS = len(str(MAX_INT))
_DTYPE_KINDS = "biufc"
_SCALAR_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                  "uint64", "float16", "float32", "float64", "longdouble", "complex64",
                  "complex128"}
_U32 = struct.Struct(">I")


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
        if x.dtype.kind not in _DTYPE_KINDS or x.dtype.fields is not None:
            raise ProtocolError(f"cannot send an array of dtype {x.dtype}")
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(x), allow_pickle=False)
        blobs.append(buf.getvalue())
        return {"$": "nd", "i": len(blobs) - 1}
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


def decode_message(payload: bytes) -> dict[str, Any]:
    """Decode and validate one payload from the child; return its message dict.

    Raises:
        ProtocolError: anything malformed (bad lengths, JSON, tags, dtypes, nesting, blobs).
    """
    if len(payload) < 4:
        raise ProtocolError("frame shorter than its header length")
    (hlen,) = _U32.unpack_from(payload, 0)
    if hlen > min(MAX_HEADER_BYTES, len(payload) - 4):
        raise ProtocolError("header length out of bounds")
    raw = payload[4:4 + hlen]
    # Every JSON value but the first follows a comma or an opening bracket: a cheap upper bound
    # on the values, so that a header of millions of tiny values is not even parsed.
    if raw.count(b",") + raw.count(b"[") + raw.count(b"{") > 2 * MAX_JSON_NODES:
        raise ProtocolError(f"frame holds more than {MAX_JSON_NODES} values")
    try:
        header = json.loads(raw.decode("utf-8"), parse_int=_parse_int,
                            parse_constant=_parse_constant)
    except ProtocolError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"header is not valid JSON: {type(exc).__name__}") from exc
    try:
        return _decode_header(header, payload, hlen)
    except ProtocolError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoding is pure parsing of the child's bytes:
        # whatever a shape no check above foresaw raises (numpy's .npy header parser alone
        # raises ValueError, SyntaxError or tokenize.TokenError), the frame is malformed
        raise ProtocolError(f"malformed message ({type(exc).__name__})") from exc


def _parse_int(text: str) -> int:
    """JSON integer hook: refuse integers above :data:`MAX_INT` before converting them."""
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise ProtocolError(f"integer of {len(text)} digits (limit {MAX_INT:.0e})")
    value = int(text)
    if abs(value) > MAX_INT:
        raise ProtocolError(f"integer out of range (limit {MAX_INT:.0e})")
    return value


def _parse_constant(text: str) -> float:
    """JSON hook for the non-standard NaN/Infinity literals: the protocol tags those instead."""
    raise ProtocolError(f"bare {text[:20]} in a frame (non-finite floats are tagged)")


def _decode_header(header: Any, payload: bytes, hlen: int) -> dict[str, Any]:
    """Validate the parsed JSON ``header`` of ``payload`` and decode its body."""
    if not isinstance(header, dict) or set(header) != {"blobs", "body"}:
        raise ProtocolError("header must have exactly the keys 'blobs' and 'body'")
    lengths = header["blobs"]
    if isinstance(lengths, list) and len(lengths) > MAX_ARRAYS:
        raise ProtocolError(f"frame holds {len(lengths)} arrays; the limit is {MAX_ARRAYS}")
    if not isinstance(lengths, list) or not all(
            type(n) is int and n >= 0 for n in lengths):
        raise ProtocolError("'blobs' must be a list of non-negative integers")
    _check_size(header)
    if 4 + hlen + sum(lengths) != len(payload):
        raise ProtocolError("blob lengths do not add up to the frame length")
    offsets, pos = [], 4 + hlen
    for n in lengths:
        offsets.append((pos, pos + n))
        pos += n
    body = header["body"]
    if not isinstance(body, dict):
        raise ProtocolError("message body must be a JSON object")
    decoder = _Decoder(payload, offsets)
    return {str(k): decoder.value(v, 1) for k, v in body.items()}


def _check_size(header: Any) -> None:
    """Reject a header with more than MAX_JSON_NODES values or nested deeper than MAX_JSON_DEPTH.

    Iterative and allocation-light, so it runs before any value is decoded.
    """
    count, stack = 1, [(header, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ProtocolError("frame nested too deeply")
        if isinstance(node, (dict, list)):
            count += 2 * len(node) if isinstance(node, dict) else len(node)  # dict: keys too
            if count > MAX_JSON_NODES:  # counted before anything is pushed: the stack stays small
                raise ProtocolError(f"frame holds more than {MAX_JSON_NODES} values")
            stack.extend((v, depth + 1)
                         for v in (node.values() if isinstance(node, dict) else node))


class _Decoder:
    def __init__(self, payload: bytes, offsets: list[tuple[int, int]]) -> None:
        self.payload = payload
        self.offsets = offsets
        self.used: set[int] = set()

    def value(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError("value nested too deeply")
        if node is None or isinstance(node, (bool, str, float)):
            return node
        if isinstance(node, int):
            return node
        if isinstance(node, list):
            return [self.value(v, depth + 1) for v in node]
        if not isinstance(node, dict):
            raise ProtocolError(f"unexpected JSON node {type(node).__name__}")
        tag = node.get("$")
        if not (tag is None or isinstance(tag, str)):
            raise ProtocolError("a tag must be a string")
        if tag == "f" and set(node) == {"$", "v"} and isinstance(node["v"], str) \
                and node["v"] in ("nan", "inf", "-inf"):
            return float(node["v"])
        if tag == "tuple" and set(node) == {"$", "v"} and isinstance(node["v"], list):
            return tuple(self.value(v, depth + 1) for v in node["v"])
        if tag == "dict" and set(node) == {"$", "k", "v"} and isinstance(node["k"], list) \
                and isinstance(node["v"], list) and len(node["k"]) == len(node["v"]):
            keys = [self.value(k, depth + 1) for k in node["k"]]
            if not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in keys):
                raise ProtocolError("dict keys must be str or int")
            return dict(zip(keys, (self.value(v, depth + 1) for v in node["v"])))
        if tag == "nd" and set(node) == {"$", "i"} and type(node["i"]) is int:
            return self.array(node["i"])
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

    def array(self, i: int) -> np.ndarray:
        if not 0 <= i < len(self.offsets) or i in self.used:
            raise ProtocolError("array reference out of range or used twice")
        self.used.add(i)
        start, end = self.offsets[i]
        blob = self.payload[start:end]
        if not blob.startswith(b"\x93NUMPY") or len(blob) < 12:
            raise ProtocolError("blob is not in .npy format")
        # The header's length, before numpy parses it: a long one (many dimensions) costs more.
        hlen = int.from_bytes(blob[8:10] if blob[6] == 1 else blob[8:12], "little")
        if hlen > MAX_NPY_HEADER:
            raise ProtocolError(f"array header of {hlen} bytes (limit {MAX_NPY_HEADER})")
        try:
            arr = np.load(io.BytesIO(blob), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001 - see decode_message
            raise ProtocolError(f"blob is not a valid .npy array: {type(exc).__name__}") from exc
        if not isinstance(arr, np.ndarray) or type(arr) is not np.ndarray \
                or arr.dtype.kind not in _DTYPE_KINDS or arr.dtype.fields is not None \
                or arr.dtype.subdtype is not None:
            raise ProtocolError("array has an unsupported dtype")
        return arr


def frame(payload: bytes) -> bytes:
    """Prefix ``payload`` with its u32 big-endian length."""
    return _U32.pack(len(payload)) + payload


def frame_length(prefix: bytes, max_bytes: int) -> int:
    """Return the payload length announced by a 4-byte prefix; ProtocolError above ``max_bytes``."""
    (n,) = _U32.unpack(prefix)
    if n > max_bytes:
        raise ProtocolError(f"reply of {n} bytes exceeds the limit of {max_bytes} bytes")
    return n
