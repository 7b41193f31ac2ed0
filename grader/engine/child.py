"""Untrusted side of grading: import the student's file and answer calls over fd 3 / fd 4.

Run as ``python -I child.py <submission.py>`` with requests on fd 3 and replies on fd 4. This
file is self-contained (stdlib + numpy; it must not import the ``grader`` package) because the
sandbox mounts only it, the interpreter and numpy. It holds no secret: nothing it sends is
trusted by the grader, which checks every value it receives. The wire format is described in
``grader/engine/protocol.py``.

Messages from the host: ``{"op": "call", "fn", "args"}``, ``{"op": "call_many", "fn",
"args_list"}``, ``{"op": "perturbed", "fn", "args", "edits", "pick"}``, ``{"op": "bye"}``.
Replies: ``{"kind": "ready", "t_start", "t_numpy"}`` once numpy is imported (before any student
code runs; the two ``time.monotonic()`` stamps, at the child's first line and after numpy, are
only timing hints for ``Report.phases``),
``{"kind": "hello", "ok", ...}`` once after the import, then ``{"kind": "reply",
"ok": true, "values": [...]}`` (for ``perturbed``, a float64 array when every loss is a real
float: see :func:`packed`) or ``{"kind": "reply", "ok": false, "index": i, "error": {...}}``.
"""
import time

T_START = time.monotonic()  # first line of the child: the sandbox and the interpreter are up

import copy
import inspect
import json
import math
import os
import struct
import sys
import traceback

REQ_FD, REP_FD = 3, 4
MAX_DEPTH = 32
MAX_TEXT = 2000
MAX_HEADER = 1024 * 1024  # the host's limit on the JSON part of a frame (MAX_HEADER_BYTES)
MAX_DIMS = 32  # the host's limit on an array's dimensions
U32 = struct.Struct(">I")
np = None  # numpy, imported in main() so that an import failure is reported properly


class Unsendable(Exception):
    """The student's value has a type the grader cannot receive."""


# ---------------------------------------------------------------------------- framing
def read_exact(fd, n):
    """Read exactly ``n`` bytes from ``fd``; EOFError if the host closed the pipe."""
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("host closed the request pipe")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def write_all(fd, data):
    """Write all of ``data`` to ``fd``."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_message():
    """Read and decode one request frame from fd 3."""
    (n,) = U32.unpack(read_exact(REQ_FD, 4))
    payload = read_exact(REQ_FD, n)
    (hlen,) = U32.unpack_from(payload, 0)
    header = json.loads(payload[4:4 + hlen].decode("utf-8"))
    offsets, pos = [], 4 + hlen
    for length in header["blobs"]:
        offsets.append((pos, pos + length))
        pos += length
    return {k: decode(v, payload, offsets) for k, v in header["body"].items()}


def send_message(body):
    """Encode ``body`` (student values under "values") and write it as one frame to fd 4."""
    blobs = []
    tree = {}
    for k, v in body.items():
        if k == "values" and type(v) is list:
            tree[k] = [encode(x, blobs, 2, "the returned value") for x in v]
        else:
            tree[k] = encode(v, blobs, 1, k)
    header = json.dumps({"blobs": [len(b) for b in blobs], "body": tree},
                        allow_nan=False, separators=(",", ":")).encode()
    if len(header) > MAX_HEADER:
        raise Unsendable("the returned value holds too many Python numbers or strings; "
                         "return numpy arrays for large data")
    payload = b"".join([U32.pack(len(header)), header] + blobs)
    flush_output()  # what the student printed so far reaches the host before the reply
    write_all(REP_FD, U32.pack(len(payload)) + payload)


def flush_output():
    """Flush the real stdout and stderr (the host shows students what they printed)."""
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # a closed or replaced stream: nothing to flush
            pass


# ---------------------------------------------------------------------------- values
def decode(node, payload, offsets):
    """Turn a tagged tree from the host back into Python and numpy values."""
    if isinstance(node, list):
        return [decode(v, payload, offsets) for v in node]
    if not isinstance(node, dict):
        return node
    tag = node["$"]
    if tag == "f":
        return float(node["v"])
    if tag == "tuple":
        return tuple(decode(v, payload, offsets) for v in node["v"])
    if tag == "dict":
        return {decode(k, payload, offsets): decode(v, payload, offsets)
                for k, v in zip(node["k"], node["v"])}
    if tag == "nd":  # raw C-order bytes; dtype and shape in the tag (the host's own arrays)
        start, end = offsets[node["i"]]
        flat = np.frombuffer(payload, dtype=np.dtype(node["d"]), offset=start,
                             count=(end - start) // np.dtype(node["d"]).itemsize)
        return flat.reshape(node["s"]).copy()
    if tag == "np":
        return np.dtype(node["d"]).type(decode(node["v"], payload, offsets))
    raise ValueError("unknown tag")


def encode(x, blobs, depth, where):
    """Turn a student value into the tagged tree; raise Unsendable naming ``where``."""
    if depth > MAX_DEPTH:
        raise Unsendable(f"{where} is nested more than {MAX_DEPTH} levels deep")
    if x is None or isinstance(x, (bool, str)):
        return x[:100000] if isinstance(x, str) else x
    if type(x) is int:
        if abs(x) > 10 ** 300:
            raise Unsendable(f"{where} is an integer too large to grade")
        return x
    if type(x) is float:
        return x if math.isfinite(x) else {"$": "f", "v": repr(x)}
    if isinstance(x, np.ndarray):
        if type(x) is not np.ndarray:
            raise Unsendable(f"{where} is a {type(x).__module__}.{type(x).__name__} (an ndarray "
                             "subclass); return a plain numpy array, e.g. np.asarray(x)")
        if x.dtype.kind not in "biufc" or x.dtype.fields is not None or x.dtype.subdtype is not None:
            raise Unsendable(f"{where} is a numpy array of dtype {x.dtype}; return an array of "
                             "numbers (e.g. float64), not objects or strings")
        if x.ndim > MAX_DIMS:
            raise Unsendable(f"{where} is a numpy array of {x.ndim} dimensions; at most "
                             f"{MAX_DIMS} can be graded")
        blobs.append(x.tobytes())  # C order whatever the array's layout
        return {"$": "nd", "i": len(blobs) - 1, "d": x.dtype.str, "s": list(x.shape)}
    if isinstance(x, np.generic) and type(x).__module__ == "numpy" and x.dtype.kind in "biufc":
        v = x.item()
        if type(v) not in (bool, int, float):
            raise Unsendable(f"{where} is a numpy scalar of dtype {x.dtype}; return float64")
        return {"$": "np", "d": x.dtype.name, "v": encode(v, blobs, depth + 1, where)}
    if type(x) is dict:
        keys = []
        for k in x:
            if type(k) not in (str, int):
                raise Unsendable(f"{where} has a key of type {type(k).__name__}; use str keys")
            keys.append(k)
        return {"$": "dict", "k": keys,
                "v": [encode(x[k], blobs, depth + 1, f"{where}[{k!r}]") for k in keys]}
    if type(x) is list:
        return [encode(v, blobs, depth + 1, f"{where}[{i}]") for i, v in enumerate(x)]
    if type(x) is tuple:
        return {"$": "tuple",
                "v": [encode(v, blobs, depth + 1, f"{where}[{i}]") for i, v in enumerate(x)]}
    raise Unsendable(f"{where} is of type {type(x).__module__}.{type(x).__name__}, which cannot "
                     "be graded; return numpy arrays, numbers, lists, tuples or dicts")


def leaves(x, path=()):
    """Yield (path, ndarray) for every array inside a value of lists/tuples/dicts.

    Stops descending below MAX_DEPTH levels: a value that contains itself (``a.append(a)``)
    would otherwise recurse until RecursionError kills the child. Nothing that deep can be
    sent anyway (encode reports it as nested too deeply).
    """
    if len(path) > MAX_DEPTH:
        return
    if isinstance(x, np.ndarray):
        yield path, x
    elif isinstance(x, dict):
        for k, v in x.items():
            yield from leaves(v, path + (k,))
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            yield from leaves(v, path + (i,))


def same(a, b):
    """True when a value equals its snapshot, arrays compared bit for bit."""
    if isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
                and a.tobytes() == b.tobytes())
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in b)
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and (a == b or (a != a and b != b))


def arg_name(fn, path):
    """Describe an argument path with the function's own parameter names, e.g. params['W1']."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    head = names[path[0]] if path and path[0] < len(names) else f"argument {path[0] + 1}"
    return head + "".join(f"[{k!r}]" for k in path[1:])


# ---------------------------------------------------------------------------- errors
def student_frames(exc, filename):
    """Return the traceback's frames inside the student's file (source lines only)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = [f"  line {f.lineno}, in {f.name}: {(f.line or '').strip()[:200]}" for f in frames[-8:]]
    return "\n".join(lines)


def student_traceback(exc, filename):
    """Return the traceback trimmed to frames inside the student's file, then the exception."""
    text = "\n".join(filter(None, [student_frames(exc, filename), f"{type(exc).__name__}: {exc}"]))
    return text[-MAX_TEXT:]


def error(kind, message, tb=""):
    """Build the error part of a failed reply (message capped in length)."""
    return {"kind": kind, "message": str(message)[:MAX_TEXT], "traceback": tb}


# ---------------------------------------------------------------------------- calls
class Runner:
    """Answers the host's requests by calling functions of the imported submission."""

    def __init__(self, module, filename):
        self.module = module
        self.filename = filename

    def function(self, name):
        """Return (callable, None) or (None, missing-function error)."""
        fn = getattr(self.module, name, None)
        if not callable(fn):
            return None, error("missing", f"your file does not define a function {name}(...)")
        return fn, None

    def run(self, fn, name, args):
        """Call fn(*args); return (value, None) or (None, error)."""
        try:
            return fn(*args), None
        except NotImplementedError as exc:
            return None, error("not_implemented", f"{name} is not implemented yet",
                               student_traceback(exc, self.filename))
        except MemoryError as exc:
            return None, error("memory", f"{name} ran out of memory",
                               student_traceback(exc, self.filename))
        except RecursionError as exc:
            return None, error("exception", f"{name} recursed too deeply",
                               student_traceback(exc, self.filename))
        except BaseException as exc:  # student code may raise anything, even SystemExit
            err = error("exception", f"{name} raised {type(exc).__name__}: {exc}",
                        student_traceback(exc, self.filename))
            err["exc_type"] = type(exc).__name__[:60]
            err["frames"] = student_frames(exc, self.filename)[-MAX_TEXT:]
            return None, err

    def call_checked(self, name, args):
        """One call with the mutation and view checks; return (value, None) or (None, error)."""
        fn, err = self.function(name)
        if err:
            return None, err
        snapshot = copy.deepcopy(args)
        value, err = self.run(fn, name, args)
        if err:
            return None, err
        for i, (a, s) in enumerate(zip(args, snapshot)):
            if not same(a, s):
                where = arg_name(fn, (i,))
                for path, arr in leaves(s, (i,)):
                    cur = _get(args, path)
                    if not same(cur, arr):
                        where = arg_name(fn, path)
                        break
                return None, error("mutated", f"{name} modified its input {where} in place; "
                                   "inputs must stay unchanged (work on a copy, e.g. x.copy(), "
                                   "and avoid in-place operators like += on inputs)")
        in_arrays = [(p, a) for p, a in leaves(args)]
        for rpath, r in leaves(value):
            for path, a in in_arrays:
                if np.may_share_memory(r, a):
                    return None, error("view", f"{name} returned a view of its input "
                                       f"{arg_name(fn, path)} (they share memory); return a new "
                                       "array, e.g. with .copy()")
        return value, None

    def handle(self, msg):
        """Answer one request (call, call_many or perturbed) with a reply message."""
        op = msg.get("op")
        name = msg.get("fn")
        if op == "call":
            value, err = self.call_checked(name, tuple(msg["args"]))
            return {"kind": "reply", "ok": False, "index": 0, "error": err} if err else \
                {"kind": "reply", "ok": True, "values": [value]}
        if op == "call_many":
            values = []
            for i, args in enumerate(msg["args_list"]):
                value, err = self.call_checked(name, tuple(args))
                if err:
                    return {"kind": "reply", "ok": False, "index": i, "error": err}
                values.append(value)
            return {"kind": "reply", "ok": True, "values": values}
        if op == "perturbed":
            fn, err = self.function(name)
            if err:
                return {"kind": "reply", "ok": False, "index": 0, "error": err}
            base, pick, values = list(msg["args"]), msg["pick"], []
            for _, arr in leaves(base):
                arr.flags.writeable = False  # shared by every evaluation: must stay intact
            edits = msg["edits"]  # see Session.call_perturbed: one edit per entry of "block"
            paths = [tuple(p) for p in edits["paths"]]
            index, delta, stack, offset = edits["index"], edits["delta"], edits["stack"], 0
            for i, number in enumerate(edits["block"]):
                path = paths[number]
                args = containers_copy(base)
                parent = _get(args, path[:-1])
                block = np.array(parent[path[-1]], dtype=np.float64)
                if index[i] < 0:  # the whole block: its delta is the next block.size of stack
                    block += stack[offset:offset + block.size].reshape(block.shape)
                    offset += block.size
                else:
                    block.flat[index[i]] += delta[i]
                parent[path[-1]] = block
                value, err = self.run(fn, name, tuple(args))
                if err:
                    return {"kind": "reply", "ok": False, "index": i, "error": err}
                if pick is not None and isinstance(value, (tuple, list)) and len(value) > pick:
                    value = value[pick]
                values.append(value)
            return {"kind": "reply", "ok": True, "values": packed(values)}
        return {"kind": "reply", "ok": False, "index": 0,
                "error": error("protocol", f"unknown operation {op!r}")}


def packed(values):
    """``values`` as one float64 array when every one is a real float (Python float, numpy
    floating scalar or 0-d float array; the host reads each of those as ``float(v)``), else
    ``values`` unchanged: one blob instead of one tagged value per loss."""
    for v in values:
        t = type(v)
        if not (t is float or (isinstance(v, np.floating) and t.__module__ == "numpy")
                or (t is np.ndarray and v.ndim == 0 and v.dtype.kind == "f")):
            return values
    return np.array([float(v) for v in values], dtype=np.float64)


def containers_copy(x):
    """Copy lists, tuples and dicts but share the (read-only) arrays inside them."""
    if isinstance(x, dict):
        return {k: containers_copy(v) for k, v in x.items()}
    if isinstance(x, list):
        return [containers_copy(v) for v in x]
    if isinstance(x, tuple):
        return tuple(containers_copy(v) for v in x)
    return x


def _get(tree, path):
    for k in path:
        tree = tree[k]
    return tree


def load_student(path):
    """Compile and import the submission; return (module, None) or (None, hello-error)."""
    import importlib.util
    try:
        with open(path, "rb") as f:
            source = f.read()
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:  # includes IndentationError and TabError
        text = (exc.text or "").rstrip("\n")
        return None, {"kind": "syntax", "line": exc.lineno or 0, "offset": exc.offset or 0,
                      "message": f"{type(exc).__name__}: {exc.msg}", "text": text[:200]}
    except (ValueError, UnicodeDecodeError) as exc:  # e.g. null bytes in the source
        return None, {"kind": "syntax", "line": 0, "offset": 0,
                      "message": f"the file cannot be compiled: {exc}"[:MAX_TEXT], "text": ""}
    spec = importlib.util.spec_from_loader("submission", loader=None, origin=path)
    module = importlib.util.module_from_spec(spec)
    module.__file__ = path
    sys.modules["submission"] = module
    try:
        exec(code, module.__dict__)
    except BaseException as exc:  # anything at import time, even SystemExit, is reported
        return None, {"kind": "import", "message": student_traceback(exc, path)}
    return module, None


def main():
    """Import numpy, say ready, import the submission, say hello, then serve requests."""
    global np
    if len(sys.argv) != 2:
        sys.stderr.write("usage: child.py <submission.py>\n")
        return 2
    import numpy
    np = numpy
    send_message({"kind": "ready", "t_start": T_START, "t_numpy": time.monotonic()})  # the runtime works; from here on, failures are the student's
    filename = os.path.abspath(sys.argv[1])
    module, err = load_student(filename)
    if err:
        send_message({"kind": "hello", "ok": False, "error": err})
        return 0
    functions = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
    send_message({"kind": "hello", "ok": True, "functions": functions[:200]})
    runner = Runner(module, filename)
    while True:
        try:
            msg = read_message()
        except EOFError:
            return 0
        if msg.get("op") == "bye":
            return 0
        reply = runner.handle(msg)
        try:
            send_message(reply)
        except Unsendable as exc:
            send_message({"kind": "reply", "ok": False, "index": 0,
                          "error": error("unsendable", f"{msg.get('fn')}: {exc}")})
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            send_message({"kind": "reply", "ok": False, "index": 0,
                          "error": error("unsendable", f"{msg.get('fn')}: the returned value "
                                         f"cannot be sent to the grader ({exc})")})


if __name__ == "__main__":
    sys.exit(main())
