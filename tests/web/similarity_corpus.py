"""A generated class of submissions with planted copies, for the similarity report tests.

Honest students: each function is written from one of several independent implementations
(loops or vectorised, helpers or inline, different formulas for the same maths) with the
student's own names, so two honest files share at most a function's idea, not its text.
Planted copies: another student's file with every identifier renamed, comments rewritten and the
functions reordered: what a copier does to hide a copy.
"""
from __future__ import annotations

import random
import re

STARTER = '''import numpy as np


def sigmoid(z):
    """Logistic function, element-wise."""
    raise NotImplementedError


def loss(w, b, x, t):
    """Mean logistic least-squares loss."""
    raise NotImplementedError


def grad(w, b, x, t):
    """Gradients (dw, db) of the loss."""
    raise NotImplementedError
'''

SIGMOID = [
    '''def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))
''',
    '''def sigmoid(z):
    {o} = np.empty_like(z, dtype=float)
    {p} = z >= 0
    {o}[{p}] = 1 / (1 + np.exp(-z[{p}]))
    {e} = np.exp(z[~{p}])
    {o}[~{p}] = {e} / (1 + {e})
    return {o}
''',
    '''def sigmoid(z):
    # numerically stable version via tanh
    return 0.5 * (np.tanh(0.5 * z) + 1.0)
''',
    '''def sigmoid(z):
    {e} = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + {e}), {e} / (1 + {e}))
''',
]
LOSS = [
    '''def loss(w, b, x, t):
    {y} = sigmoid(x @ w + b)
    return 0.5 * np.mean(({y} - t) ** 2)
''',
    '''def loss(w, b, x, t):
    {n} = x.shape[0]
    {total} = 0.0
    for {i} in range({n}):
        {zi} = np.dot(x[{i}], w) + b
        {total} += (sigmoid({zi}) - t[{i}]) ** 2 / 2
    return {total} / {n}
''',
    '''def loss(w, b, x, t):
    {r} = sigmoid(np.einsum("nd,d->n", x, w) + b) - t
    return float({r} @ {r}) / (2 * len(t))
''',
    '''def loss(w, b, x, t):
    {z} = x.dot(w)
    {z} = {z} + b
    {err} = sigmoid({z}) - t
    return np.sum(np.square({err})) / (2.0 * t.size)
''',
]
GRAD = [
    '''def grad(w, b, x, t):
    {y} = sigmoid(x @ w + b)
    {d} = ({y} - t) * {y} * (1 - {y}) / len(t)
    return x.T @ {d}, np.sum({d})
''',
    '''def grad(w, b, x, t):
    {n} = x.shape[0]
    {gw} = np.zeros_like(w, dtype=float)
    {gb} = 0.0
    for {i} in range({n}):
        {s} = sigmoid(np.dot(x[{i}], w) + b)
        {c} = (({s} - t[{i}]) * {s} * (1.0 - {s})) / {n}
        {gw} += {c} * x[{i}]
        {gb} += {c}
    return {gw}, {gb}
''',
    '''def grad(w, b, x, t):
    {z} = np.einsum("nd,d->n", x, w) + b
    {s} = sigmoid({z})
    # chain rule: dL/dy * dy/dz
    {delta} = np.multiply({s} - t, {s} - {s} ** 2) / t.size
    return np.einsum("n,nd->d", {delta}, x), {delta}.sum()
''',
    '''def grad(w, b, x, t):
    {yhat} = sigmoid(x.dot(w) + b)
    {dz} = ({yhat} - t) * {yhat} * (1 - {yhat})
    {m} = float(len(t))
    {dw} = (x * {dz}[:, None]).sum(axis=0) / {m}
    return {dw}, {dz}.mean()
''',
]
WORDS = ["val", "tmp", "res", "acc", "out", "pos", "neg", "mask", "pred", "err", "diff", "delta",
         "grad", "num", "count", "k", "idx", "j", "ii", "zz", "lin", "act", "prob", "resid", "g",
         "sum_", "cnt", "agg", "vec", "item", "elem", "part", "piece", "chunk", "total_"]
SLOTS = ("o", "p", "e", "y", "n", "total", "i", "zi", "r", "z", "err", "d", "gw", "gb", "s", "c",
         "delta", "yhat", "dz", "m", "dw")


def _names(rng: random.Random) -> dict[str, str]:
    picked = rng.sample(WORDS, len(SLOTS))
    return {slot: f"{word}{rng.randint(0, 9)}" for slot, word in zip(SLOTS, picked)}


def honest(rng: random.Random, choice: tuple[int, int, int]) -> str:
    """One honest file: implementations ``choice`` of (sigmoid, loss, grad), own names."""
    names = _names(rng)
    header = f'"""Homework by a student ({rng.choice(["v1", "final", "submission", "hw2"])})."""\n'
    body = "\n\n".join(tpl.format(**names) for tpl in
                       (SIGMOID[choice[0]], LOSS[choice[1]], GRAD[choice[2]]))
    return header + "import numpy as np\n\n\n" + body


def disguise(source: str, rng: random.Random) -> str:
    """A copier's disguise: identifiers renamed, comments and docstring changed, functions
    reordered."""
    locals_ = sorted(set(re.findall(r"\b([a-z_]+\d)\b", source)))
    for name in locals_:
        source = re.sub(rf"\b{re.escape(name)}\b", f"q_{rng.randint(100, 999)}_{name[:2]}", source)
    source = re.sub(r"#.*", "# my own work", source)
    source = re.sub(r'""".*?"""', '"""Assignment solution."""', source, count=1, flags=re.S)
    head, *funcs = re.split(r"\n(?=def )", source)
    rng.shuffle(funcs)
    return head + "\n" + "\n".join(funcs)


def make_class(n_honest: int = 14, seed: int = 413) -> tuple[dict[str, str], set[frozenset[str]]]:
    """Return ``({student: source}, planted pairs)``: ``n_honest`` honest students with
    distinct implementation choices, and two planted copies (``copier1`` of ``s03``,
    ``copier2`` of ``s07``)."""
    rng = random.Random(seed)
    combos = [(a, b, c) for a in range(4) for b in range(4) for c in range(4)]
    rng.shuffle(combos)
    chosen: list[tuple[int, int, int]] = []
    for combo in combos:  # honest students differ in at least two of the three functions
        if all(sum(x == y for x, y in zip(combo, other)) <= 1 for other in chosen):
            chosen.append(combo)
        if len(chosen) == n_honest:
            break
    sources = {f"s{i:02d}": honest(rng, combo) for i, combo in enumerate(chosen)}
    sources["copier1"] = disguise(sources["s03"], rng)
    sources["copier2"] = disguise(sources["s07"], rng)
    return sources, {frozenset({"copier1", "s03"}), frozenset({"copier2", "s07"})}
