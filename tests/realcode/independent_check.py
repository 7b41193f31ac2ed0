"""Independent numerical check of a submission, function by function (not gradelab's grader).

Used to verify the labels of the real-code corpus (tests/realcode) and of the fresh diagnosis
corpus (bench/corpus_fresh): it imports the file in a child process, calls every function of the
assignment's contract on its own random inputs (moderate values, logits of size 1000, tanh and
relu networks, several XOR seeds) and compares with the reference solutions and with central
differences of the reference loss. It shares no code with ``grader/`` (only the reference
solutions, loaded by path), so a mistake in the engine's checks cannot hide in both.

Usage: python tests/realcode/independent_check.py <slug> <file.py> [--json]
Prints, per function, "ok" or the wrong outputs/blocks and why.
"""
from __future__ import annotations

import importlib.util
import json
import multiprocessing as mp
import sys
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
RTOL, ATOL = 1e-6, 1e-8
GRAD_TOL = 1e-6


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _close(got, want, rtol=RTOL, atol=ATOL) -> str | None:
    """None when ``got`` equals ``want`` (same shape, finite, entrywise tolerance), else why."""
    try:
        g = np.asarray(got, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - anything not numeric is wrong
        return f"not numeric ({exc.__class__.__name__})"
    w = np.asarray(want, dtype=np.float64)
    if g.shape != w.shape:
        return f"shape {g.shape}, expected {w.shape}"
    if not np.all(np.isfinite(g)):
        return "not finite"
    err = np.abs(g - w) - (atol + rtol * np.abs(w))
    if np.any(err > 0):
        rel = np.linalg.norm(g - w) / (np.linalg.norm(g) + np.linalg.norm(w) + 1e-300)
        return f"values differ (norm-relative error {rel:.2g})"
    return None


def _grad_close(got, want) -> str | None:
    try:
        g = np.asarray(got, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001
        return f"not numeric ({exc.__class__.__name__})"
    w = np.asarray(want, dtype=np.float64)
    if g.shape != w.shape:
        return f"shape {g.shape}, expected {w.shape}"
    if not np.all(np.isfinite(g)):
        return "not finite"
    den = np.linalg.norm(g) + np.linalg.norm(w)
    rel = 0.0 if den == 0 else np.linalg.norm(g - w) / den
    if rel > GRAD_TOL:
        ratio = ""
        if np.linalg.norm(w) > 0:
            s = float(np.vdot(g, w) / np.vdot(w, w))
            if np.linalg.norm(g - s * w) <= 1e-6 * den:
                ratio = f"; equals {s:.4g} x the right one"
        return f"norm-relative error {rel:.2g}{ratio}"
    return None


def _central(f, theta: np.ndarray, h: float = 1e-5) -> np.ndarray:
    grad = np.zeros_like(theta)
    for i in np.ndindex(theta.shape):
        old = theta[i]
        theta[i] = old + h
        fp = f()
        theta[i] = old - h
        fm = f()
        theta[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


class Report:
    def __init__(self) -> None:
        self.result: dict[str, dict] = {}

    def run(self, function: str, body) -> None:
        problems: dict[str, str] = {}
        try:
            body(problems)
        except NotImplementedError as exc:
            if "not ported" in str(exc):
                self.result[function] = {"ok": None, "bad": {}, "not_ported": True}
                return
            problems["(call)"] = "raises NotImplementedError"
        except Exception as exc:  # noqa: BLE001 - a crash is a wrong function
            tb = traceback.extract_tb(exc.__traceback__)
            where = next((f"line {fr.lineno}" for fr in reversed(tb) if fr.filename.endswith(".py")
                          and "independent_check" not in fr.filename), "")
            problems["(call)"] = f"raises {exc.__class__.__name__}: {str(exc)[:120]} {where}".strip()
        self.result[function] = {"ok": not problems, "bad": problems}


def _copy(v):
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_copy(x) for x in v]
    return v.copy() if isinstance(v, np.ndarray) else v


def _unchanged(before, after) -> bool:
    if isinstance(before, dict):
        return all(_unchanged(before[k], after[k]) for k in before)
    if isinstance(before, list):
        return all(_unchanged(a, b) for a, b in zip(before, after))
    if isinstance(before, np.ndarray):
        return before.shape == after.shape and np.array_equal(before, after)
    return True


# ---------------------------------------------------------------------------------- chain_rule
def check_chain_rule(mod, ref, rng) -> dict:
    rep = Report()

    def ls_cases():
        for scale in (1.0, 40.0):
            N = 7
            yield (float(rng.normal() * scale / 4 + (scale if scale > 1 else 0)), float(rng.normal()),
                   rng.normal(size=N) * (1 if scale == 1 else 1.5), rng.uniform(0, 1, N))

    def ls_loss(p):
        for w, b, x, t in ls_cases():
            why = _close(mod.logistic_ls_loss(w, b, x.copy(), t.copy()), ref.logistic_ls_loss(w, b, x, t))
            if why:
                p["loss"] = why
    rep.run("logistic_ls_loss", ls_loss)

    def ls_grad(p):
        for w, b, x, t in ls_cases():
            got = mod.logistic_ls_grad(w, b, x.copy(), t.copy())
            want = ref.logistic_ls_grad(w, b, x, t)
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                p["(return)"] = "not a pair (dw, db)"
                return
            for name, g, wv in zip(("dw", "db"), got, want):
                why = _close(g, wv, rtol=1e-6, atol=1e-10)
                if why:
                    p[name] = why
    rep.run("logistic_ls_grad", ls_grad)

    def dfdt(p):
        t = np.concatenate([rng.uniform(-3, 3, 9), [0.0, 1e-3, -2.5]])
        why = _close(mod.multivariate_dfdt(t.copy()), ref.multivariate_dfdt(t))
        if why:
            p["dfdt"] = why
    rep.run("multivariate_dfdt", dfdt)

    def sm_cases():
        K, D, N = 4, 5, 6
        T = np.eye(K)[rng.integers(0, K, N)]
        yield "moderate", rng.normal(size=(K, D)), rng.normal(size=K), rng.normal(size=(N, D)), T
        W = rng.normal(size=(K, D)) * 0.01
        b = rng.normal(size=K) * 30.0 + 1000.0
        yield "logits ~1000", W, b, rng.normal(size=(N, D)), T
        # confident predictions: in-row gaps up to 1500, so some true-class probabilities
        # underflow (near 0) and others are 1 to the last bit
        b = rng.permutation(np.linspace(0.0, 1500.0, K))
        yield "row spread ~1500", rng.normal(size=(K, D)) * 0.01, b, rng.normal(size=(N, D)), T

    def sm_loss(p):
        for label, W, b, X, T in sm_cases():
            got = mod.softmax_regression_loss(W.copy(), b.copy(), X.copy(), T.copy())
            why = _close(got, ref.softmax_regression_loss(W, b, X, T))
            if why:
                p[f"loss ({label})"] = why
    rep.run("softmax_regression_loss", sm_loss)

    def sm_grad(p):
        for label, W, b, X, T in sm_cases():
            got = mod.softmax_regression_grad(W.copy(), b.copy(), X.copy(), T.copy())
            want = ref.softmax_regression_grad(W, b, X, T)
            if label == "moderate":  # the reference itself against central differences
                Wc, bc = W.copy(), b.copy()
                fd = _central(lambda: ref.softmax_regression_loss(Wc, bc, X, T), Wc)
                assert _grad_close(want[0], fd) is None, "reference dW disagrees with central differences"
            for name, g, wv in zip(("dW", "db"), got, want):
                why = _grad_close(g, wv)
                if why:
                    p[name] = p.get(name, why + f" ({label})")
    rep.run("softmax_regression_grad", sm_grad)
    return rep.result


# -------------------------------------------------------------------------------- mlp_backprop
def check_mlp_backprop(mod, ref, rng, train: bool = True) -> dict:
    rep = Report()
    N, D, H, K = 6, 5, 4, 3
    params = {"W1": rng.normal(size=(H, D)), "b1": rng.normal(size=H),
              "W2": rng.normal(size=(K, H)), "b2": rng.normal(size=K)}
    X, T = rng.normal(size=(N, D)), rng.normal(size=(N, K))

    def fwd(p):
        got = mod.mlp_forward(_copy(params), X.copy())
        why = _close(got, ref.mlp_forward(params, X))
        if why:
            p["Y"] = why
    rep.run("mlp_forward", fwd)

    def loss(p):
        why = _close(mod.mlp_loss(_copy(params), X.copy(), T.copy()), ref.mlp_loss(params, X, T))
        if why:
            p["loss"] = why
    rep.run("mlp_loss", loss)

    def bwd(p):
        got = mod.mlp_backward(_copy(params), X.copy(), T.copy())
        want = ref.mlp_backward(params, X, T)
        for k in ("W1", "b1", "W2", "b2"):
            why = _grad_close(got[k], want[k]) if k in got else "missing"
            if why:
                p[k] = why
    rep.run("mlp_backward", bwd)

    def deep_case(widths, n, act, big=False):
        Xd = rng.normal(size=(n, widths[0]))
        ps = [{"W": rng.normal(size=(o, i)) / np.sqrt(i), "b": rng.normal(size=o) * 0.1}
              for i, o in zip(widths[:-1], widths[1:])]
        if act == "relu":  # move every hidden pre-activation away from the kink
            Hc = Xd
            for layer in ps[:-1]:
                Z = Hc @ layer["W"].T + layer["b"]
                layer["b"] = layer["b"] + np.where(np.abs(Z).min(axis=0) < 0.05, 0.3, 0.0)
                Hc = np.maximum(Hc @ layer["W"].T + layer["b"], 0)
        if big:
            ps[-1]["W"] = ps[-1]["W"] * 0.01
            ps[-1]["b"] = np.linspace(0, 1200, widths[-1])[rng.permutation(widths[-1])]
        y = rng.integers(0, widths[-1], n)
        return ps, Xd, y

    def deep(p):
        cases = [([5, 4, 6, 3], 7, "sigmoid", False), ([5, 6, 4, 3], 7, "tanh", False),
                 ([5, 6, 4, 3], 7, "relu", False), ([6, 5, 4], 8, "sigmoid", True),
                 ([4, 3], 5, "tanh", False)]
        for widths, n, act, big in cases:
            label = f"{act} {'-'.join(map(str, widths))}{' logits~1000' if big else ''}"
            ps, Xd, y = deep_case(widths, n, act, big)
            before = _copy(ps)
            out = mod.deep_loss_and_grads(ps, Xd, y, act)
            if not _unchanged(before, ps):
                p[f"params ({label})"] = "modified its input"
            ref_loss, ref_grads = ref.deep_loss_and_grads(before, Xd, y, act)
            lv, gs = out
            why = _close(lv, ref_loss)
            if why:
                p.setdefault("loss", f"{why} ({label})")
            for i, (g, w) in enumerate(zip(gs, ref_grads)):
                for k in ("W", "b"):
                    why = _grad_close(g[k], w[k])
                    if why:
                        p.setdefault(f"params[{i}].{k}", f"{why} ({label})")
    rep.run("deep_loss_and_grads", deep)

    if train:
        def digits(p):
            from sklearn.datasets import load_digits
            Xa, ya = load_digits(return_X_y=True)
            accs = []
            for seed in (0, 1):
                r = np.random.default_rng(100 + seed)
                order = r.permutation(len(ya))
                tr, te = order[:1257], order[1257:]
                ps, act = mod.train_digits(Xa[tr].astype(float), ya[tr].astype(np.int64), 1234 + seed)
                Hc = Xa[te].astype(float)
                f = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
                     "relu": lambda z: np.maximum(z, 0)}[act]
                for i, layer in enumerate(ps):
                    Hc = Hc @ layer["W"].T + layer["b"]
                    if i < len(ps) - 1:
                        Hc = f(Hc)
                accs.append(float(np.mean(Hc.argmax(axis=1) == ya[te])))
            if min(accs) < 0.93:
                p["accuracy"] = f"held-out accuracy {accs} (< 0.93)"
        rep.run("train_digits", digits)
    return rep.result


# ------------------------------------------------------------------------------------------ xor
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_T = np.array([0.0, 1.0, 1.0, 0.0])


def check_xor(mod, ref, rng, seeds=(0, 1, 2, 3, 7, 42, 123, 2024)) -> dict:
    rep = Report()
    step = lambda u: (np.asarray(u) > 0).astype(float)  # noqa: E731
    closed = lambda u: (np.asarray(u) >= 0).astype(float)  # noqa: E731

    def thr(p):
        q = mod.threshold_xor_params()
        y = np.array([step(np.asarray(q["W2"], float) @ step(np.asarray(q["W1"], float) @ x + q["b1"])
                           + q["b2"])[0] for x in XOR_X])
        if not np.array_equal(y, XOR_T):
            p["truth table"] = f"outputs {y.astype(int).tolist()} on (00, 01, 10, 11)"
    rep.run("threshold_xor_params", thr)

    def feat(p):
        X = rng.uniform(-2, 2, (9, 2))
        Xc = X.copy()
        why = _close(mod.xor_features(Xc), ref.xor_features(X), 1e-9, 1e-9)
        if why:
            p["Phi"] = why
        if not np.array_equal(X, Xc):
            p["X"] = "modified its input"
    rep.run("xor_features", feat)

    def lin(p):
        w, b = mod.xor_linear_params()
        y = step(ref.xor_features(XOR_X) @ np.asarray(w, float) + float(b))
        if not np.array_equal(y, XOR_T):
            p["truth table"] = f"outputs {y.astype(int).tolist()}"
    rep.run("xor_linear_params", lin)

    def intv(p):
        w1, b1, w2, b2 = mod.interval_indicator_params()
        x = np.concatenate([np.linspace(-4, 7, 1101), [1.0, 2.0, 1 - 1e-9, 2 - 1e-9, 1 + 1e-9, 2 + 1e-9]])
        f = w1 * closed(x - b1) + w2 * closed(x - b2)
        want = ((x >= 1) & (x < 2)).astype(float)
        if np.any(np.abs(f - want) > 1e-9):
            p["f"] = f"wrong at x = {x[np.abs(f - want) > 1e-9][:4].tolist()}"
    rep.run("interval_indicator_params", intv)

    def bump(p):
        for delta in (0.5, 0.25, 0.1, 0.37, 0.03):
            a, c = mod.relu_bump_params(delta)
            a, c = np.asarray(a, float), np.asarray(c, float)
            if a.shape != (4,) or c.shape != (4,):
                p["shape"] = f"a {a.shape}, c {c.shape}"
                return
            x = np.concatenate([np.linspace(-2, 1 - delta, 200), np.linspace(1, 2, 200),
                                np.linspace(2 + delta, 5, 200)])
            want = ((x >= 1) & (x <= 2)).astype(float)
            f = np.maximum(0, x[:, None] - c[None, :]) @ a
            if np.any(np.abs(f - want) > 1e-9):
                p.setdefault("f", f"wrong for delta = {delta}")
    rep.run("relu_bump_params", bump)

    def train(p):
        # train_xor(X, t, seed) since issue 11: the XOR table, then rectangles of this file's own
        # (centre in [0.2, 0.8], half-sides 0.5, XNOR labels every other seed), and a repeat
        bad = []
        for s in seeds:
            if s % 2 == 0:
                X, t = XOR_X, XOR_T
            else:
                c = np.random.default_rng(1000 + s).uniform(0.2, 0.8, 2)
                X = c + (2 * XOR_X - 1) * 0.5
                t = 1.0 - XOR_T if s % 4 == 1 else XOR_T
            q = mod.train_xor(X, t, s)
            for k, shape in (("W1", None), ("b1", None), ("W2", None), ("b2", (1,))):
                v = q[k]
                if not isinstance(v, np.ndarray) or (shape and v.shape != shape):
                    p[k] = f"shape {np.shape(v)} ({type(v).__name__}), expected {shape}"
                    return
            y = ref.xor_mlp_output({k: np.asarray(v, float) for k, v in q.items()}, X)
            if not np.array_equal(y > 0.5, t > 0.5):
                bad.append(s)
        if bad:
            p["solves XOR"] = f"fails for seeds {bad} of {list(seeds)}"
        again = mod.train_xor(XOR_X, XOR_T, seeds[0])
        first = mod.train_xor(XOR_X, XOR_T, seeds[0])
        if any(not np.allclose(np.asarray(first[k], float), np.asarray(again[k], float))
               for k in ("W1", "b1", "W2", "b2")):
            p["repeatable"] = "the same arguments give other weights"
    rep.run("train_xor", train)
    return rep.result


def _child(slug: str, path: str, train: bool, queue) -> None:
    import warnings
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    ref = _load(ROOT / "reference_solutions" / f"{slug}.py", f"_ref_{slug}")
    mod = _load(Path(path), "_submission")
    rng = np.random.default_rng(20261202)
    if slug == "chain_rule":
        res = check_chain_rule(mod, ref, rng)
    elif slug == "mlp_backprop":
        res = check_mlp_backprop(mod, ref, rng, train)
    else:
        res = check_xor(mod, ref, rng)
    queue.put(res)


def check(slug: str, path: str | Path, train: bool = True, timeout: float = 600.0) -> dict:
    """Check ``path`` against the contract of ``slug``; returns {function: {"ok", "bad"}}."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(slug, str(path), train, queue))
    proc.start()
    try:
        res = queue.get(timeout=timeout)
    except Exception:  # noqa: BLE001
        proc.kill()
        raise RuntimeError(f"{path}: the check did not finish in {timeout} s")
    proc.join()
    return res


if __name__ == "__main__":
    slug, path = sys.argv[1], sys.argv[2]
    res = check(slug, path)
    if "--json" in sys.argv:
        print(json.dumps(res))
    else:
        for fn, r in res.items():
            if r.get("not_ported"):
                print(f"{fn:28s} not ported")
                continue
            print(f"{fn:28s} " + ("ok" if r["ok"] else "WRONG " + "; ".join(f"{k}: {v}" for k, v in r["bad"].items())))
