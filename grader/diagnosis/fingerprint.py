"""Fingerprints: name a mistake nobody listed, from the reference's own forward and backward pass.

For a function with a traced pass (``passes.py``; each assignment's in its ``diagnosis.py``), the diagnoser tries *edits* of the pass -- at
one site (the output error signal, the activation derivative of a layer, the input factor of a
weight gradient) a factor is left out, replaced by one of the pass's intermediate quantities
(x, z, h, 1 - h, f'(h), z (1 - z), ...) or multiplied by one -- and, per returned block, a
*block transform*: a scalar factor (2, 1/2, -1, N, 1/N, K, or any constant that is the same on
every probe) or a transpose. A candidate is one or two edits plus the block transforms it needs;
it is claimed only when it reproduces *every* returned block on *every* probe input (to the
matcher's tolerance, ``compare.MATCH_TOL``) and differs from the correct value somewhere: the
same reproduce-on-fresh-probes rule as the listed misconceptions, which keeps wrong diagnoses
out. The cheapest explanation wins (fewest mistakes; one edit before two). When nothing with at
most two mistakes explains the output, the diagnoser says so and names the blocks that are right.
"""
from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grader.diagnosis import compare
from grader.diagnosis.model import Case, Diagnosis, PartSpec
from grader.diagnosis.passes import Site

log = logging.getLogger(__name__)

#: Most mistakes one explanation may combine (edits + distinct block transforms).
MAX_MISTAKES = 2

#: Relative agreement of the per-probe scale factors with a named factor (2, N, ...).
SCALE_TOL = 1e-6


@dataclass(frozen=True)
class Edit:
    """A change of the pass at every site of ``kind`` in ``layer`` (``None``: every layer).

    ``op`` is ``missing`` (the factor is left out: 1), ``replace`` (``quantity`` used instead of
    the factor) or ``times`` (the factor multiplied by ``quantity`` as well).
    """

    kind: str
    layer: int | None
    op: str
    quantity: str = ""

    def applies(self, site: Site) -> bool:
        """Tell whether this edit changes ``site``."""
        return site.kind == self.kind and self.layer in (None, site.layer) and \
            (self.op == "missing" or self.quantity in site.quantities)

    def apply(self, site: Site, value: np.ndarray) -> np.ndarray:
        """Return the factor at ``site`` with this edit made."""
        if self.op == "missing":
            return np.ones_like(value)
        q = site.quantities[self.quantity]
        return q if self.op == "replace" else value * q


class _Tracer:
    """Hook that applies a set of edits and remembers which ones changed some site."""

    def __init__(self, edits: Sequence[Edit]):
        self.edits = edits
        self.used: set[Edit] = set()
        self.sites: list[Site] = []

    def __call__(self, site: Site) -> np.ndarray:
        self.sites.append(site)
        value = site.value
        for edit in self.edits:
            if edit.applies(site):
                value = edit.apply(site, value)
                self.used.add(edit)
        return value


def candidate_edits(part: PartSpec, case: Case) -> list[Edit]:
    """Enumerate the single edits of ``part``'s pass that make sense for the sites of ``case``."""
    tracer = _Tracer(())
    part.trace(case.args, tracer)
    layers: dict[str, list[int]] = {}
    quantities: dict[str, list[str]] = {}
    for site in tracer.sites:
        layers.setdefault(site.kind, [])
        if site.layer not in layers[site.kind]:
            layers[site.kind].append(site.layer)
        for q in site.quantities:
            quantities.setdefault(site.kind, [])
            if q not in quantities[site.kind]:
                quantities[site.kind].append(q)
    ops = {"signal": [("times", q) for q in quantities.get("signal", [])],
           "deriv": [("missing", "")] + [(op, q) for q in quantities.get("deriv", [])
                                          for op in ("replace", "times")],
           "input": [("missing", "")] + [("replace", q) for q in quantities.get("input", [])],
           # chain-rule factors of a composed function (multivariate_dfdt): the inner
           # derivative of an exponent, the outer derivative of a path
           "inner": [("missing", "")] + [("replace", q) for q in quantities.get("inner", [])],
           "outer": [("missing", "")] + [("replace", q) for q in quantities.get("outer", [])]}
    edits: list[Edit] = []
    for kind in ("deriv", "input", "signal", "inner", "outer"):
        where: list[int | None] = [None]
        if len(layers.get(kind, [])) > 1:
            where += sorted(layers[kind])
        for layer in where:
            for op, q in ops[kind]:
                if kind in ("input", "inner", "outer") and op == "replace" and layer is None:
                    continue  # per layer only: the replacing quantity differs by layer
                edits.append(Edit(kind, layer, op, q))
    return edits


@dataclass
class BlockFit:
    """How a block of the student's output relates to a candidate's prediction."""

    how: str                    # "exact", "scale" or "transpose"
    keys: tuple[str, ...] = ()  # scale keys (e.g. ("sign_flipped", "times_two"))
    label: str = ""             # printable factor ("2", "N", "0.37")
    error: float = 0.0


#: Named per-probe factors: key -> (label, factor(case)).
SCALES: dict[str, tuple[str, object]] = {
    "times_two": ("2", lambda c: 2.0),
    "times_half": ("1/2", lambda c: 0.5),
    "sign_flipped": ("-1", lambda c: -1.0),
    "times_batch_size": ("N", lambda c: float(c.n) if c.n else None),
    "divided_by_batch_size": ("1/N", lambda c: 1.0 / c.n if c.n else None),
    "times_classes": ("K", lambda c: float(c.k) if c.k else None),
    "divided_by_classes": ("1/K", lambda c: 1.0 / c.k if c.k else None),
}


#: Factor pairs whose product is 1 (never named as two mistakes).
INVERSE_PAIRS = [{"times_two", "times_half"}, {"times_batch_size", "divided_by_batch_size"},
                 {"times_classes", "divided_by_classes"}]


def _fit_scale(student: np.ndarray, predicted: np.ndarray) -> float | None:
    """Least-squares factor c with student ~ c predicted (None if they cannot be compared)."""
    if student is None or predicted is None or student.shape != predicted.shape:
        return None
    if not (np.isfinite(student).all() and np.isfinite(predicted).all()):
        return None
    denom = float(np.vdot(predicted, predicted))
    if denom == 0.0:
        return None
    return float(np.vdot(student, predicted)) / denom


def name_scale(cases: Sequence[Case], factors: Sequence[float | None]) -> tuple[tuple[str, ...], str] | None:
    """Name per-probe factors ``factors[i]`` (None: that probe's block is zero) or return None.

    One named factor (2, 1/2, -1, N, 1/N, K, 1/K), a sign with one of them (two mistakes), or a
    constant that is the same on every probe ("constant_factor"). Must differ from 1 somewhere.
    """
    pairs = [(c, f) for c, f in zip(cases, factors) if f is not None]
    if len(pairs) < 2 or all(abs(f - 1.0) <= 1e-3 for _, f in pairs):
        return None

    def fits(fn, sign: float = 1.0) -> bool:
        for case, f in pairs:
            want = fn(case)
            if want is None or abs(f - sign * want) > SCALE_TOL * max(1.0, abs(want)):
                return False
        return True

    for key, (label, fn) in SCALES.items():
        if fits(fn):
            return (key,), label
    for key, (label, fn) in SCALES.items():
        if key != "sign_flipped" and fits(fn, -1.0):
            return ("sign_flipped", key), f"-{label}"
    # two factors at once (e.g. a squared error without its 1/2 summed over the batch: 2 N)
    plain = [(k, v) for k, v in SCALES.items() if k != "sign_flipped"]
    for (k1, (l1, f1)), (k2, (l2, f2)) in itertools.combinations(plain, 2):
        if {k1, k2} in INVERSE_PAIRS:
            continue
        both = (lambda a, b: lambda c: None if a(c) is None or b(c) is None else a(c) * b(c))(f1, f2)
        if fits(both):
            return (k1, k2), f"{l1} {l2}"
    first = pairs[0][1]
    if all(abs(f - first) <= SCALE_TOL * max(1.0, abs(first)) for _, f in pairs) and \
            abs(first) > 1e-9:
        return ("constant_factor",), f"{first:.3g}"
    return None


def fit_block(name: str, cases: Sequence[Case], predicted: Sequence[dict[str, np.ndarray]]) -> BlockFit | None:
    """Return how the student's block ``name`` follows from the predictions on every case."""
    students = [c.student.get(name) for c in cases]
    preds = [p.get(name) for p in predicted]
    if all(compare.agree(s, p) for s, p in zip(students, preds)):
        return BlockFit("exact")
    factors: list[float | None] = []
    for s, p in zip(students, preds):
        if p is not None and s is not None and s.shape == p.shape and \
                np.isfinite(p).all() and not np.abs(p).max(initial=0.0) > 0:
            factors.append(None)  # a zero prediction: the student's block must be zero too
            if not compare.agree(s, p):
                factors = []
                break
            continue
        c = _fit_scale(s, p)
        if c is None or not compare.agree(s, c * p):
            factors = []
            break
        factors.append(c)
    if factors:
        named = name_scale(cases, factors)
        if named is not None:
            return BlockFit("scale", named[0], named[1])
    if all(p is not None and s is not None and p.ndim == 2 and p.shape[0] != p.shape[1]
           and compare.agree(s, p.T) for s, p in zip(students, preds)):
        return BlockFit("transpose", ("transposed",), "")
    return None


@dataclass
class Explanation:
    """A candidate that reproduces every block on every probe."""

    edits: tuple[Edit, ...]
    fits: dict[str, BlockFit]
    changed: dict[Edit, list[str]]  # blocks each edit changes

    @property
    def cost(self) -> int:
        """Number of distinct mistakes: edits plus distinct block transforms."""
        transforms = {(f.how, f.keys, f.label) for f in self.fits.values() if f.how != "exact"}
        return len(self.edits) + sum(len(t[1]) for t in transforms)


def _predict(part: PartSpec, case: Case, edits: Sequence[Edit]) -> tuple[dict[str, np.ndarray], set[Edit]]:
    tracer = _Tracer(edits)
    with np.errstate(all="ignore"):
        out = part.trace(case.args, tracer)
    return part.blocks(out), tracer.used


def _evaluate(part: PartSpec, cases: Sequence[Case], edits: tuple[Edit, ...],
              cache: dict[tuple[Edit, ...], list[dict[str, np.ndarray]] | None]) -> Explanation | None:
    if edits in cache:
        predicted = cache[edits]
    else:
        predicted = []
        for case in cases:
            try:
                blocks, used = _predict(part, case, edits)
            except (ValueError, TypeError, KeyError, IndexError, ArithmeticError):
                predicted = None
                break
            if set(edits) - used and edits:
                # an edit that applies to no site of this input cannot be told apart here
                predicted = None
                break
            predicted.append(blocks)
        cache[edits] = predicted
    if predicted is None:
        return None
    names = list(cases[0].reference)
    changed_any = [n for n in names
                   if any(compare.distinct(p.get(n), c.reference.get(n)) for c, p in zip(cases, predicted))]
    if edits and not changed_any:
        return None  # the edit changes nothing on these inputs
    fits: dict[str, BlockFit] = {}
    for name in names:
        fit = fit_block(name, cases, predicted)
        if fit is None:
            return None
        fits[name] = fit
    changed: dict[Edit, list[str]] = {}
    for edit in edits:
        alone = cache.get((edit,))
        if alone is None:
            alone = [_predict(part, c, (edit,))[0] for c in cases]
        changed[edit] = [n for n in names if any(compare.distinct(p.get(n), c.reference.get(n))
                                                 for c, p in zip(cases, alone))]
        if not changed[edit]:
            return None
    return Explanation(edits, fits, changed)


def search(part: PartSpec, cases: Sequence[Case], failing: set[str]) -> Explanation | None:
    """Return the cheapest explanation (at most :data:`MAX_MISTAKES` mistakes) or None."""
    if part.trace is None or not cases or not failing:
        return None
    if any(c.student.get(name) is None for c in cases for name in cases[0].reference):
        # a block the student did not return as numbers (a string, a missing key) fits no
        # candidate (fit_block needs it on every case): nothing to search. A wrong-type answer
        # to every probe once cost the grader 0.2 s of CPU per failed test here.
        return None
    edits = candidate_edits(part, cases[0])
    cache: dict[tuple[Edit, ...], list[dict[str, np.ndarray]] | None] = {}
    best: Explanation | None = None
    for candidate in [()] + [(e,) for e in edits]:
        found = _evaluate(part, cases, candidate, cache)
        if found is not None and 0 < found.cost <= MAX_MISTAKES and \
                (best is None or found.cost < best.cost):
            best = found
            if best.cost == 1:
                return best
    if best is not None:
        return best
    # Pairs of edits. A block that only one edit of the pair changes is computed before the
    # other edit's site, so it must already match that edit alone: this prunes almost every pair
    # before a pass is run.
    facts = {}
    for edit in edits:
        predicted = cache.get((edit,))
        if predicted is None:
            continue
        changed = {n for n in cases[0].reference
                   if any(compare.distinct(p.get(n), c.reference.get(n)) for c, p in zip(cases, predicted))}
        if not changed or not changed <= failing:
            continue
        exact = {n for n in changed
                 if all(compare.agree(c.student.get(n), p.get(n)) for c, p in zip(cases, predicted))}
        facts[edit] = (changed, exact)
    for a, b in itertools.combinations(list(facts), 2):
        if (a.kind, a.layer) == (b.kind, b.layer) or \
                (a.kind == b.kind and None in (a.layer, b.layer)):
            continue
        (ca, ea), (cb, eb) = facts[a], facts[b]
        if not failing <= ca | cb or not (ca - cb) <= ea or not (cb - ca) <= eb:
            continue
        found = _evaluate(part, cases, (a, b), cache)
        if found is not None and found.cost <= MAX_MISTAKES:
            return found
    return None
