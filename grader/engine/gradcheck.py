"""Check an analytic gradient against central finite differences of a loss, per parameter block.

The numeric derivative along a unit vector d is the central difference
``(L(p + h d) - L(p - h d)) / (2 h)`` in float64 with ``h = 1e-5``; its error is O(h^2)
(lecture 2 computes gradients with the chain rule; the finite-difference check is the standard
test of such code, e.g. CS231n "Gradient checks"). Each parameter block (``W1``, ``b1``, ...) is
scored by the norm-relative error ``||a - n|| / (||a|| + ||n||)`` of analytic ``a`` and numeric
``n``: pass at <= 1e-6, fail above 1e-3, and in between the caller rechecks at a fresh point.

Two modes:
- ``full``: every coordinate of every block (2 P loss evaluations for P parameters);
- ``directional``: per block, a few random unit directions (analytic ``a . d`` against the
  central difference along ``d``) plus a few sampled coordinates, so the cost does not grow
  with P (used for big models such as 784-50-10).

Gaming guard (``reference`` evaluator): a check of a gradient against the student's OWN loss
cannot tell a right gradient from a wrong gradient paired with a loss that is wrong in the same way
(e.g. a loss that, near the probe points, returns a linearisation built from the wrong gradient).
When a trusted reference loss is given, its central differences are taken at the same edits and
compared with the student's (same norm-relative error and thresholds: ``loss_error`` /
``loss_verdict``). A check that decides a score passes a block only when both verdicts pass:
the gradient matches the student's loss, and the student's loss has the reference's slopes there
(hence the gradient is within the tolerance of the true one at the probe points).

Losses are evaluated through an *evaluator*: a callable taking a list of edits
``(path, flat_index_or_None, delta)`` and returning one loss per edit, where each edit adds
``delta`` (a number at ``flat_index``, or an array for the whole block) to the block at ``path``
of the base point. The engine's evaluator runs the student's loss in the child in one round trip;
:func:`local_evaluator` runs a trusted Python function (tests and benchmarks).
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.engine.compare import Mismatch, compare_array, describe, norm_relative_error

H = 1e-5
PASS_THRESHOLD = 1e-6
FAIL_THRESHOLD = 1e-3
FULL_CHECK_MAX_PARAMS = 2000
#: Shown once in a test's feedback when it quotes a gradient check's relative error.
RELATIVE_ERROR_DEFINITION = (
    "Relative error against central differences = ||a - n|| / (||a|| + ||n||) over the "
    "whole block, where a is your gradient and n the central differences "
    "(L(p + h) - L(p - h)) / 2h of your loss; it is 0 when they agree and at most 1.")

Path = tuple[Any, ...]
Edit = tuple[Path, "int | None", "float | np.ndarray"]
Evaluator = Callable[[list[Edit]], np.ndarray]


@dataclass
class Block:
    """One parameter block: its path into the argument tuple, a display name and its value."""

    path: Path
    name: str
    value: np.ndarray


@dataclass
class BlockResult:
    """Gradient-check outcome of one block: the error, the verdict and the worst coordinates.

    ``verdict`` is ``pass`` (<= 1e-6), ``fail`` (> 1e-3) or ``unsure`` (in between). ``worst``
    lists ``(index, analytic, numeric)`` of the largest coordinate mismatches (full mode, or the
    sampled coordinates in directional mode); ``n_evals`` counts loss evaluations.
    ``loss_error`` / ``loss_verdict`` compare the central differences of the student's loss with
    those of a reference loss at the same edits, and ``ref_error`` compares the analytic
    gradient with the reference loss's central differences directly (all None when no reference
    loss was given). ``against`` is ``"own"`` when the student's loss was evaluated, or
    ``"reference"`` when only the reference loss was (the student's loss was unusable).
    ``accepted`` marks a block still between the thresholds at a second, evaluated point
    (passed, with a note).
    """

    name: str
    error: float
    verdict: str
    n_evals: int
    mode: str
    worst: list[tuple[tuple[int, ...], float, float]] = field(default_factory=list)
    loss_error: float | None = None
    loss_verdict: str | None = None
    ref_error: float | None = None
    against: str = "own"
    accepted: bool = False

    @property
    def passed(self) -> bool:
        """The gradient-vs-own-loss verdict and (if checked) the loss-vs-reference one pass."""
        return self.verdict == "pass" and self.loss_verdict in (None, "pass")

    @property
    def failed(self) -> bool:
        """Either verdict is ``fail``."""
        return self.verdict == "fail" or self.loss_verdict == "fail"


def verdict(error: float) -> str:
    """Map a norm-relative error to ``pass`` / ``unsure`` / ``fail`` with the module thresholds."""
    if not np.isfinite(error) or error > FAIL_THRESHOLD:
        return "fail"
    return "pass" if error <= PASS_THRESHOLD else "unsure"


def combined_verdict(r: BlockResult) -> str:
    """The verdict a score-deciding check gives a block (issue 11: a bug costs points once).

    When the student's own loss was usable and has the reference's slopes at the probe points
    (``loss_verdict`` pass or unsure), the gradient is judged against the student's own central
    differences, and the worse of the two verdicts counts. When the student's loss was wrong
    there (``loss_verdict`` fail) or could not be evaluated (``against == "reference"``), the
    gradient is judged against central differences of the reference loss instead
    (``ref_error``), so a wrong loss costs the loss's own tests only. Without a reference loss
    the own-loss verdict decides; a block that cannot be evaluated at all fails.
    """
    if r.accepted:
        return "pass"
    if r.against == "reference" or r.loss_verdict == "fail":
        return "fail" if r.ref_error is None else verdict(r.ref_error)
    verdicts = {r.verdict, r.loss_verdict or "pass"}
    if "fail" in verdicts:
        return "fail"
    return "unsure" if "unsure" in verdicts else "pass"


def explain_error(error: float) -> str:
    """Describe a block's norm-relative ``error`` and what it means for the verdict, e.g.

    ``"relative error 6.6e-01: passes at or below 1e-06, fails above 1e-03; in between it is
    rechecked at a fresh point"``.
    """
    return (f"relative error {error:.1e}: passes at or below {PASS_THRESHOLD:.0e}, fails above "
            f"{FAIL_THRESHOLD:.0e}; in between it is rechecked at a fresh point")


def block_name(path: Path) -> str:
    """Return a readable name for a block path, e.g. ``W1`` or ``params[1]["W"]``."""
    keys = path[1:]
    if len(keys) == 1 and isinstance(keys[0], str):
        return keys[0]
    return "params" + "".join(f'["{k}"]' if isinstance(k, str) else f"[{k}]" for k in keys)


def blocks_of(params: Any, prefix: Path = (0,)) -> list[Block]:
    """Flatten a parameter pytree (dicts / lists / tuples of float arrays) into blocks.

    ``prefix`` is the path of ``params`` inside the argument tuple (first argument by default).
    Raises TypeError for a leaf that is not a float ndarray.
    """
    out: list[Block] = []
    if isinstance(params, dict):
        for k in params:
            out.extend(blocks_of(params[k], prefix + (k,)))
    elif isinstance(params, (list, tuple)):
        for i, v in enumerate(params):
            out.extend(blocks_of(v, prefix + (i,)))
    elif isinstance(params, np.ndarray) and params.dtype.kind == "f":
        out.append(Block(prefix, block_name(prefix), params))
    else:
        raise TypeError(f"parameter leaf at {prefix} is {type(params).__name__}, not a float array")
    return out


def get_path(tree: Any, path: Sequence[Any]) -> Any:
    """Return the node of ``tree`` at ``path`` (keys and indices)."""
    for k in path:
        tree = tree[k]
    return tree


def apply_edit(args: tuple[Any, ...] | list[Any], edit: Edit,
               copy_args: Callable[[list[Any]], list[Any]] = copy.deepcopy) -> tuple[Any, ...]:
    """Return a copy of ``args`` with one edit applied (see module docstring).

    ``copy_args`` copies the argument list before the edited block is replaced by an edited
    float64 copy of itself (default a deep copy; ``trusted_eval`` copies only the containers of
    arguments whose arrays are read-only views).
    """
    path, index, delta = edit
    new = copy_args(list(args))
    parent = get_path(new, path[:-1])
    block = np.array(parent[path[-1]], dtype=np.float64, copy=True)
    if index is None:
        block += np.asarray(delta, dtype=np.float64).reshape(block.shape)
    else:
        block.flat[int(index)] += float(delta)
    parent[path[-1]] = block
    return tuple(new)


def local_evaluator(loss: Callable[..., float], args: tuple[Any, ...]) -> Evaluator:
    """Return an evaluator that calls the trusted ``loss(*edited_args)`` in this process."""

    def evaluate(edits: list[Edit]) -> np.ndarray:
        return np.array([float(loss(*apply_edit(args, e))) for e in edits], dtype=np.float64)

    return evaluate


def check_block(evaluate: Evaluator, block: Block, analytic: np.ndarray, *, mode: str,
                rng: np.random.Generator, h: float = H, directions: int = 3,
                coordinates: int = 6, worst: int = 3,
                reference: Evaluator | None = None) -> BlockResult:
    """Compare ``analytic`` (same shape as ``block.value``) with central differences.

    Args:
        evaluate: evaluator of the loss at the base point plus one edit (module docstring).
        block: the parameter block being checked.
        analytic: the gradient claimed for this block, float array of the block's shape.
        mode: ``full`` or ``directional``.
        rng: source of the random directions and sampled coordinates.
        h: step of the central difference.
        directions, coordinates: sizes of the directional check.
        reference: evaluator of a trusted loss at the same base point; when given, its central
            differences at the same edits are compared with the student's (``loss_error``).
    """
    a = np.asarray(analytic, dtype=np.float64)
    size = block.value.size
    if mode == "full":
        coords = np.arange(size)
        dirs: list[np.ndarray] = []
    else:
        coords = np.sort(rng.choice(size, size=min(coordinates, size), replace=False))
        dirs = []
        for _ in range(directions):
            d = rng.standard_normal(block.value.shape)
            dirs.append(d / np.linalg.norm(d))
    edits: list[Edit] = []
    for i in coords:
        edits += [(block.path, int(i), h), (block.path, int(i), -h)]
    for d in dirs:
        edits += [(block.path, None, h * d), (block.path, None, -h * d)]
    losses = evaluate(edits)
    # losses and gradients come from student code: values near 1e308 overflow to inf here
    # (and inf - inf to NaN) without a warning, and end as a failed block (error inf)
    with np.errstate(over="ignore", invalid="ignore"):
        slopes = (losses[0::2] - losses[1::2]) / (2 * h)
        n_coord = slopes[:len(coords)]
        a_coord = a.ravel()[coords]
        a_dir = np.array([float(np.sum(a * d)) for d in dirs])
        n_all = np.concatenate([n_coord, slopes[len(coords):]])
        a_all = np.concatenate([a_coord, a_dir])
        error = norm_relative_error(a_all, n_all)
        order = np.argsort(-np.nan_to_num(np.abs(a_coord - n_coord), nan=np.inf))[:worst]
        loss_error = ref_error = None
        if reference is not None:
            ref_losses = np.asarray(reference(edits), dtype=np.float64)
            ref_slopes = (ref_losses[0::2] - ref_losses[1::2]) / (2 * h)
            loss_error = norm_relative_error(n_all, ref_slopes)
            ref_error = norm_relative_error(a_all, ref_slopes)
    worst_list = [(tuple(int(j) for j in np.unravel_index(coords[k], block.value.shape)),
                   float(a_coord[k]), float(n_coord[k])) for k in order]
    return BlockResult(block.name, error, verdict(error), len(edits), mode, worst_list,
                       loss_error, None if loss_error is None else verdict(loss_error), ref_error)


def choose_mode(blocks: Sequence[Block], mode: str = "auto") -> str:
    """Resolve ``auto`` to ``full`` up to :data:`FULL_CHECK_MAX_PARAMS` parameters, else ``directional``."""
    if mode != "auto":
        if mode not in ("full", "directional"):
            raise ValueError(f"mode must be auto, full or directional, got {mode!r}")
        return mode
    total = sum(b.value.size for b in blocks)
    return "full" if total <= FULL_CHECK_MAX_PARAMS else "directional"


def check_gradient(evaluate: Evaluator, blocks: Sequence[Block], analytic: Sequence[np.ndarray], *,
                   mode: str = "auto", rng: np.random.Generator, h: float = H,
                   directions: int = 3, coordinates: int = 6,
                   reference: Evaluator | None = None) -> list[BlockResult]:
    """Check every block (``analytic[i]`` belongs to ``blocks[i]``) at one point; see check_block."""
    mode = choose_mode(blocks, mode)
    return [check_block(evaluate, b, a, mode=mode, rng=rng, h=h, directions=directions,
                        coordinates=coordinates, reference=reference)
            for b, a in zip(blocks, analytic)]


def gradient_blocks(grads: Any, blocks: Sequence[Block],
                    fn: str) -> tuple[list[np.ndarray], str | Mismatch | None]:
    """Walk a student's gradient along the parameter paths of ``blocks``.

    Returns ``(arrays, None)`` with one float array per block, or ``([], message)`` where the
    message names EVERY block whose structure, shape, dtype or finiteness differs from the
    parameters, one line each (issue 11: one report, not one attempt per wrong block).
    """
    out: list[np.ndarray] = []
    problems: list[str] = []
    for blk in blocks:
        node, where, msg = grads, "the gradient", None
        for key in blk.path[1:]:
            if isinstance(key, str):
                if not isinstance(node, dict) or key not in node:
                    msg = (f"{fn}: {where} should be a dict with key '{key}' (same "
                           f"structure as params), but it is {describe(node)}.")
                    break
                where += f"['{key}']"
            else:
                if not isinstance(node, (list, tuple)) or len(node) <= key:
                    msg = (f"{fn}: {where} should be a list with one entry per layer "
                           f"(same structure as params), but it is {describe(node)}.")
                    break
                where += f"[{key}]"
            node = node[key]
        if msg is None:
            msg = compare_array(node, blk.value, function=fn, variable=f"the gradient {blk.name}",
                                rtol=0.0, atol=0.0, reveal=False, values=False)
        if msg:
            if msg not in problems:  # a missing list or dict is reported once
                problems.append(msg)
        else:
            out.append(node)
    if problems:
        joined = "\n".join(str(p) for p in problems)
        category = next((p.category for p in problems if isinstance(p, Mismatch)), None)
        return [], (Mismatch(joined, category) if category else joined)
    return out, None


def check_against_reference(reference: Evaluator, blocks: Sequence[Block],
                            analytic: Sequence[np.ndarray], *, mode: str = "auto",
                            rng: np.random.Generator, h: float = H) -> list[BlockResult]:
    """Check every block against central differences of a trusted loss only.

    Used when the student's own loss cannot be evaluated (it crashes, is not a finite number, or
    times out): the gradient is still checked, against the correct loss, so a broken loss costs
    only its own tests. Results have ``against == "reference"`` and ``ref_error == error``.
    """
    results = check_gradient(reference, blocks, analytic, mode=mode, rng=rng, h=h)
    for r in results:
        r.against, r.ref_error = "reference", r.error
    return results


def format_worst(r: BlockResult) -> str:
    """Describe a block's largest analytic vs central-difference mismatches, or ``""``."""
    if not r.worst:
        return ""
    parts = [f"{r.name}[{', '.join(map(str, i))}]: yours {a:.6g}, central difference {n:.6g}"
             for i, a, n in r.worst]
    return " Largest differences: " + "; ".join(parts) + "."


def jitter(params: Any, rng: np.random.Generator, scale: float = 0.05) -> Any:
    """Return a copy of a parameter pytree with Gaussian noise of ``scale`` added to each block."""
    if isinstance(params, dict):
        return {k: jitter(v, rng, scale) for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return type(params)(jitter(v, rng, scale) for v in params)
    return params + scale * rng.standard_normal(params.shape)
