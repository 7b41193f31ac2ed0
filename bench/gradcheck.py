"""Benchmark: full central-difference check vs directional check on the 784-50-10 network.

Prints, for the lecture's MNIST-sized sigmoid MLP (784-50-10, softmax cross-entropy, batch of
16), the number of loss evaluations and the wall time of each check when the loss runs in the
grading child (``PlainLauncher``, the same round trips as grading), and the share of gradient
mutants (classic backprop mistakes applied to a correct gradient) that each check catches.

Run: ``.venv/bin/python bench/gradcheck.py`` (one to two minutes, almost all of it the full
check; prints figures, asserts nothing).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from grader.engine import gradcheck
from grader.engine.launch import PlainLauncher
from grader.engine.manifest import Limits
from grader.engine.session import Session

ROOT = Path(__file__).resolve().parents[1]
WIDTHS, N = [784, 50, 10], 16


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def deep_grads(params, X, y, variant="ok"):
    """Gradient of the mean softmax cross-entropy of a sigmoid MLP, with one optional mistake."""
    Hs, Zs = [X], []
    for layer in params[:-1]:
        Zs.append(Hs[-1] @ layer["W"].T + layer["b"])
        Hs.append(sigmoid(Zs[-1]))
    logits = Hs[-1] @ params[-1]["W"].T + params[-1]["b"]
    P = np.exp(logits - logits.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    Z_bar = P.copy()
    Z_bar[np.arange(len(y)), y] -= 1
    Z_bar /= 1 if variant == "sum instead of mean" else len(y)
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        grads[l] = {"W": Z_bar.T @ Hs[l], "b": Z_bar.sum(0)}
        if l:
            H_bar = Z_bar @ params[l]["W"]
            H = Hs[l]
            if variant == "missing sigma'":
                Z_bar = H_bar
            elif variant == "sigma' of the activation":
                Z_bar = H_bar * sigmoid(H) * (1 - sigmoid(H))
            else:
                Z_bar = H_bar * H * (1 - H)
    g = grads
    if variant == "sign flipped in W2":
        g[1]["W"] = -g[1]["W"]
    elif variant == "factor 2 in b1":
        g[0]["b"] = 2 * g[0]["b"]
    elif variant == "bias gradient averaged twice":
        g[1]["b"] = g[1]["b"] / len(y)
    elif variant == "one wrong entry in W1":
        i = np.unravel_index(np.argmax(np.abs(g[0]["W"])), g[0]["W"].shape)
        g[0]["W"][i] *= -1
    elif variant == "one hidden unit's row of W1 zeroed":
        g[0]["W"][int(np.argmax(np.abs(g[0]["W"]).sum(1)))] = 0
    elif variant == "W1 off by 0.1%":
        g[0]["W"] = g[0]["W"] * 1.001
    return g


VARIANTS = ["missing sigma'", "sigma' of the activation", "sum instead of mean",
            "sign flipped in W2", "factor 2 in b1", "bias gradient averaged twice",
            "one wrong entry in W1", "one hidden unit's row of W1 zeroed", "W1 off by 0.1%"]


class CountingEvaluator:
    """Evaluate the loss in the child, caching results so mutants reuse the same evaluations."""

    def __init__(self, session: Session, args: tuple):
        self.session, self.args = session, args
        self.cache: dict = {}
        self.calls = 0

    def __call__(self, edits):
        keys = [(tuple(p), i, float(d)) if i is not None else (tuple(p), None, d.tobytes())
                for p, i, d in edits]
        todo = [(k, e) for k, e in zip(keys, edits) if k not in self.cache]
        for start in range(0, len(todo), 4096):
            chunk = todo[start:start + 4096]
            values = self.session.call_perturbed("deep_loss_and_grads", self.args,
                                                 [e for _, e in chunk], 0, 10.0)
            self.calls += len(chunk)
            self.cache.update((k, float(v)) for (k, _), v in zip(chunk, values))
        return np.array([self.cache[k] for k in keys])


def run_check(evaluate, blocks, grads, mode, seed):
    analytic = [gradcheck.get_path(grads, b.path[1:]) for b in blocks]
    return gradcheck.check_gradient(evaluate, blocks, analytic, mode=mode,
                                    rng=np.random.default_rng(seed))


def main() -> None:
    rng = np.random.default_rng(0)
    params = [{"W": rng.normal(0, 1 / np.sqrt(i), (o, i)), "b": rng.normal(0, 0.3, o)}
              for i, o in zip(WIDTHS[:-1], WIDTHS[1:])]
    X = rng.normal(size=(N, WIDTHS[0]))
    y = rng.integers(0, WIDTHS[-1], N)
    args = (params, X, y, "sigmoid")
    blocks = gradcheck.blocks_of(params)
    P = sum(b.value.size for b in blocks)
    source = (ROOT / "reference_solutions" / "mlp_backprop.py").read_bytes()
    limits = Limits(cpu_seconds=3600, wall_seconds=3600)
    session = Session(PlainLauncher(), source, limits)
    assert session.start().ok
    print(f"network {'-'.join(map(str, WIDTHS))}, sigmoid, batch {N}: P = {P} parameters")
    rows = {}
    for mode in ("full", "directional"):
        evaluate = CountingEvaluator(session, args)
        t0, cpu0 = time.perf_counter(), session.handle.cpu_seconds()
        ok = run_check(evaluate, blocks, deep_grads(params, X, y), mode, seed=1)
        seconds = time.perf_counter() - t0
        child_cpu = session.handle.cpu_seconds() - cpu0
        caught, unsure = [], []
        for variant in VARIANTS:
            res = run_check(evaluate, blocks, deep_grads(params, X, y, variant), mode, seed=1)
            verdicts = {r.verdict for r in res}
            (caught if "fail" in verdicts else unsure if "unsure" in verdicts else []).append(variant)
        rows[mode] = (sum(r.n_evals for r in ok), seconds, child_cpu, caught, unsure,
                      max(r.error for r in ok))
    draws = 10  # the directional check is random: how often does a fresh draw catch each mutant?
    rates = {}
    for variant in VARIANTS:
        grads = deep_grads(params, X, y, variant)
        hits = sum(any(r.verdict == "fail" for r in run_check(
            CountingEvaluator(session, args), blocks, grads, "directional", seed))
            for seed in range(2, 2 + draws))
        rates[variant] = hits / draws
    session.close()
    print(f"{'check':<12} {'loss evals':>10} {'wall (s)':>9} {'child CPU (s)':>13} "
          f"{'max err (correct)':>18} {'mutants caught':>15}")
    for mode, (n, s, cpu, caught, unsure, err) in rows.items():
        print(f"{mode:<12} {n:>10} {s:>9.2f} {cpu:>13.2f} {err:>18.1e} "
              f"{len(caught):>6}/{len(VARIANTS)} ({100 * len(caught) / len(VARIANTS):.0f}%)")
    for mode, (_, _, _, caught, unsure, _) in rows.items():
        missed = [v for v in VARIANTS if v not in caught]
        print(f"{mode}: missed {missed or 'none'}; between thresholds (recheck) {unsure or 'none'}")
    print(f"directional check, share of {draws} random draws that catch each mutant:")
    for variant, rate in rates.items():
        print(f"  {variant:<36} {100 * rate:.0f}%")


if __name__ == "__main__":
    main()
