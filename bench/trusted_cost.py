"""Benchmark the trusted side's cost per submission: host CPU and report size (issue 10).

Prints, in one run, for each assignment (plain launcher, so that only the grading process is
measured; the sandbox adds nothing to it):
  1. the grading process's own CPU per submission (``time.process_time`` around
     ``grade_source``, after one warm-up grading as in a long-running worker), the part of it
     spent reading the children's frames (what the budget caps) and the children's CPU, for
     the reference solution (an honest file);
  2. the same for the costliest reply patterns found within the frame limits: a submission
     that takes over the reply pipe at import and answers every call with (a) 4096 empty
     arrays (``MAX_ARRAYS``), (b) ~200 000 small JSON values (``MAX_JSON_NODES``), (c) a
     1 MiB JSON string (``MAX_HEADER_BYTES``), (d) the largest array the assignment's frame
     limit allows (8 or 64 MiB); a file whose every function returns a string (each test fails
     and is diagnosed); and the ratio worst / honest (goal <= 2) under the budget on reading
     (max(0.05 s, 0.2 x the children's CPU), ``session.TRUSTED_CPU_*``; decoding stops at it).
     A child that replays one costly frame pays almost nothing per reply, so the worst cases
     read for about the floor (or 0.2 x the CPU the child burns writing its frames).
     Measured (loaded 2-core machine): before the one-pass decoder, the .npy fast path and the
     deadline (floor 0.5 s, 1 x) xor 7.4x, chain_rule 22.7x, mlp_backprop 0.47x; with them
     (floor 0.1 s, load ~8) xor 2.8x, chain_rule 3.3x, mlp_backprop 0.9x on patterns (a)-(c);
     patterns (d) and the string answers, added since, cost chain_rule 0.7 s and 0.22 s
     (41x, 12x: the diagnosis converted an 8 MB reply to float64 on every probe, and ran its
     fingerprint search on answers with no numbers). Now (raw array buffers, 1 MiB JSON,
     floor 0.05 s, frames read into one buffer, those two diagnosis exits; before/after run
     back to back at load 4-7): (a)-(c) 0.12-0.15 s -> 0.07-0.09 s of host CPU per submission;
     the worst now xor 0.11 s / 0.04 s = 2.8x (largest array), chain_rule 0.21 s / 0.02 s =
     10.9x (1 MiB strings: its child burnt 0.6 s writing them, which buys 0.12 s of reading at
     0.2 x, and every test fails and is diagnosed; the honest file costs only 0.02 s),
     mlp_backprop 0.43 s / 0.14 s = 3.1x (the padded network below; the reply patterns 2.3x);
     mlp_backprop also: a trained network padded to 6 500 hidden units (481 000 parameters, just
     under the 500 000 limit; 26 000 units before the limit was lowered from 2 000 000) of zero weights
     (float16: cheap to read, costly to evaluate): 6.5 s of host CPU for 1.4 s of the child's
     before its forward pass was charged to the budget, about 1.1 s after (issue 10);
  3. the largest report JSON provoked: 20 000 long dict keys, a 3 MB exception message,
     10 MB of printed output (goal <= 256 KiB, ``results.REPORT_BYTES``).

Usage: .venv/bin/python bench/trusted_cost.py [--slugs xor,chain_rule,mlp_backprop]
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import grader.diagnosis
from grader.engine import grade_source  # noqa: E402
from grader.engine import session as session_mod  # noqa: E402
from grader.engine.assignment import load_assignment  # noqa: E402
from grader.engine.launch import PlainLauncher  # noqa: E402
from grader.engine.results import REPORT_BYTES  # noqa: E402

TAKEOVER = '''
import os as _o, struct as _s
def _wall(b):
    v = memoryview(b)
    while v:
        v = v[_o.write(4, v):]
def _frame(body_json, blobs=()):
    h = ('{"blobs":[' + ",".join(str(len(b)) for b in blobs) + '],"body":' + body_json + '}').encode()
    p = _s.pack(">I", len(h)) + h + b"".join(blobs)
    return _s.pack(">I", len(p)) + p
def _readx(n):
    out = b""
    while len(out) < n:
        c = _o.read(3, n - len(out))
        if not c: _o._exit(0)
        out += c
    return out
%(setup)s
_wall(_frame('{"kind":"hello","ok":true,"functions":[]}'))
while True:
    (_len,) = _s.unpack(">I", _readx(4)); _readx(_len)
    _wall(_REPLY)
'''

PATTERNS = {
    "4096 empty arrays per reply": '''
_REPLY = _frame('{"kind":"reply","ok":true,"values":[[' + ",".join(
    '{"$":"nd","i":%d,"d":"<f8","s":[0]}' % i for i in range(4096)) + ']]}', [b""] * 4096)
''',
    "199 000 JSON values per reply": '''
_REPLY = _frame('{"kind":"reply","ok":true,"values":[[' + ",".join(["0"] * 199000) + ']]}')
''',
    "1 MiB JSON string per reply": '''
_REPLY = _frame('{"kind":"reply","ok":true,"values":["' + "x" * (1024 * 1024 - 200) + '"]}')
''',
    "largest array the frame limit allows": '''
_n = %(reply_bytes)d - 4096
_h = ('{"blobs":[%%d],"body":{"kind":"reply","ok":true,"values":[{"$":"nd","i":0,"d":"|u1",'
      '"s":[%%d]}]}}' %% (_n, _n)).encode()
_REPLY = memoryview(bytearray(_s.pack(">I", 4 + len(_h) + _n) + _s.pack(">I", len(_h)) + _h
                              + bytes(_n)))
''',
}

#: Patterns appended to the honest file as Python (not a reply takeover): a check's own work on a
#: value of the student's size (issue 10: train_digits's forward pass, ``TestContext.charged``).
SOURCE_PATTERNS = {
    "mlp_backprop": {"net padded to 6 500 float16 units": '''

_trained = train_digits


def train_digits(X_train, y_train, seed):
    (first, last), activation = _trained(X_train, y_train, seed)
    pad = 6500 - first["W"].shape[0]
    return [{"W": np.concatenate([first["W"], np.zeros((pad, 64))]).astype(np.float16),
             "b": np.concatenate([first["b"], np.zeros(pad)]).astype(np.float16)},
            {"W": np.concatenate([last["W"], np.zeros((10, pad))], axis=1).astype(np.float16),
             "b": last["b"].astype(np.float16)}], activation
'''},
}

def wrong_type_everywhere(reference: str) -> str:
    """The reference with every public function redefined to return a string: each test fails
    (and is diagnosed) on a well-formed reply of the wrong type."""
    names = re.findall(r"^def ([a-z]\w*)\(", reference, re.M)
    return reference + "\n" + "".join(f"\ndef {n}(*args, **kwargs):\n    return 'x'\n"
                                        for n in names)


BIG_REPORTS = {
    "20 000 long dict keys": ("xor", '''
def threshold_xor_params():
    return {("k%06d" % i) * 40: 0 for i in range(20000)}
'''),
    "3 MB exception message": ("xor", '''
def xor_features(X):
    raise ValueError("m" * 3_000_000)
'''),
    "10 MB printed output": ("xor", "print('p' * 10_000_000)\n"),
}


def measure(slug: str, source: str) -> tuple[float, float, float, float, int]:
    """Grade once; return (trusted CPU s, of it reading frames s, children CPU s, wall s,
    report JSON bytes)."""
    sessions = []
    init = session_mod.Session.__init__

    def spy(self, *args, **kwargs):
        init(self, *args, **kwargs)
        sessions.append(self)

    session_mod.Session.__init__ = spy
    try:
        t0, cpu0 = time.monotonic(), time.process_time()
        report = grade_source(slug, source, student_id="bench",
                              diagnoser=grader.diagnosis, launcher=PlainLauncher(),
                              seed_key=b"bench")
        wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    finally:
        session_mod.Session.__init__ = init
    s = sessions[0]
    return (cpu, s.trusted_cpu(), s.cpu_spent, wall, len(json.dumps(report.to_dict()).encode()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slugs", default="xor,chain_rule,mlp_backprop")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    print(f"budget on reading frames: max({session_mod.TRUSTED_CPU_FLOOR_S:g} s, "
          f"{session_mod.TRUSTED_CPU_RATIO:g} x children's CPU)")
    print(f"{'assignment':14} {'submission':36} {'host CPU':>9} {'reading':>8} {'child CPU':>9} "
          f"{'wall':>6} {'report':>9}")
    ratios = []
    for slug in args.slugs.split(","):
        honest_src = (REPO / "reference_solutions" / f"{slug}.py").read_text()
        measure(slug, honest_src)  # warm-up: imports a long-running worker has done already
        rows = [("honest (reference)", measure(slug, honest_src))]
        reply_bytes = load_assignment(slug).manifest.limits.reply_bytes
        rows += [(name, measure(slug, honest_src + TAKEOVER % {
            "setup": setup % {"reply_bytes": reply_bytes} if "%(" in setup else setup}))
            for name, setup in PATTERNS.items()]
        rows.append(("a string from every function", measure(slug,
                                                             wrong_type_everywhere(honest_src))))
        rows += [(name, measure(slug, honest_src + extra))
                 for name, extra in SOURCE_PATTERNS.get(slug, {}).items()]
        for name, (cpu, reading, child, wall, size) in rows:
            print(f"{slug:14} {name:36} {cpu:8.3f}s {reading:7.3f}s {child:8.2f}s "
                  f"{wall:5.1f}s {size:8d}B")
        honest = rows[0][1][0]
        worst_name, worst = max(((r[0], r[1][0]) for r in rows[1:]), key=lambda r: r[1])
        ratios.append((slug, worst / max(honest, 1e-9), worst, honest, worst_name))
    print()
    for slug, ratio, worst, honest_cpu, worst_name in ratios:
        print(f"{slug}: worst host CPU {worst:.3f} s ({worst_name}) / honest {honest_cpu:.3f} s "
              f"= {ratio:.2f}x (goal <= 2x)")
    print()
    largest = 0
    for name, (slug, source) in BIG_REPORTS.items():
        size = measure(slug, source)[4]
        largest = max(largest, size)
        print(f"report of {name:24} {size / 1024:8.1f} KiB")
    print(f"largest report {largest / 1024:.1f} KiB (goal <= {REPORT_BYTES // 1024} KiB)")


if __name__ == "__main__":
    main()
