"""Diagnosis of ``train_xor`` of the ``xor`` assignment (issue 13), from its trained networks.

Trusted grader code, imported by this folder's ``misconceptions.py`` through
``grader.diagnosis.registry``. ``train_xor`` is observed only through what the contract returns:
the trained networks for a few seeds of the diagnoser's own (never a hidden test's), from which
the rules infer a flipped update (confidently wrong: the loss went up), an update that never
reached the returned weights (W1 is exactly a fresh draw of ``default_rng(seed)``), or a plateau /
poor local minimum. What a network outputs comes from the reference solution's
``xor_mlp_output`` (the spec's network, one implementation). Every rule is checked on every
observation it uses; nothing is claimed from a single seed that the other seeds contradict.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grader.diagnosis.model import Diagnosis, Observation, PartSpec
from grader.diagnosis.registry import assignment_file_module, reference_module

_HERE = Path(__file__).resolve().parent
constructions = assignment_file_module(_HERE, "diagnosis")
XOR_X, XOR_T = constructions.XOR_X, constructions.XOR_T
xor_diagnosis, read_network = constructions.xor_diagnosis, constructions.read_network

TRAIN_SEEDS = (11, 2024, 777)
#: CPU seconds per probe run of train_xor (the manifest gives each call 8).
TRAIN_PROBE_TIME_LIMIT = 8.0
#: Outputs all within this distance of 0.5: the network has not left its start (a plateau).
FLAT_OUTPUT = 0.05


def xor_output(net: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """y = sigma(W2 sigma(W1 x + b1) + b2) for every row of X (the spec's network), shape (N,):
    the reference solution's ``xor_mlp_output``."""
    with np.errstate(all="ignore"):
        return reference_module(_HERE.name).xor_mlp_output(net, X)


def _is_fresh_draw(W1: np.ndarray, seed: int) -> bool:
    """Whether W1 is exactly the first draw of ``default_rng(seed)``, for the usual initialisations.

    Normal draws of any scale (``normal(0, s, shape)`` = s * ``standard_normal(shape)``, also
    drawn as (2, H) and transposed) and uniform draws on any interval (a + (b - a) *
    ``random(shape)``) are recognised.
    """
    h = W1.shape[0]
    for draw in ("standard_normal", "random"):
        for shape, back in (((h, 2), lambda v: v), ((2, h), lambda v: v.T)):
            base = back(getattr(np.random.default_rng(seed), draw)(shape))
            A = np.column_stack([base.ravel(), np.ones(base.size)])
            coef, *_ = np.linalg.lstsq(A, W1.ravel(), rcond=None)
            if abs(coef[0]) > 1e-12 and np.allclose(A @ coef, W1.ravel(), rtol=1e-12, atol=1e-12):
                if draw == "random" or abs(coef[1]) < 1e-12:
                    return True
    return False


def diagnose_train(observations: Sequence[Observation]) -> list[Diagnosis]:
    """Infer what goes wrong in ``train_xor`` from its networks for several seeds."""
    results = _trained_networks(observations)
    if results is None:
        return []
    failed = [r for r in results if not r[3]]
    if not failed:
        return []
    return _failure_diagnosis(failed, len(results))


def _trained_networks(observations: Sequence[Observation]) -> list[tuple] | None:
    """``(seed, net, y, solved, loss)`` per observation: the network's outputs y on the XOR
    table, whether it solves XOR, and its mean cross-entropy; None if a network is unreadable or
    there are fewer than two."""
    nets = []
    for obs in observations:
        net = read_network(obs.output)
        if net is None or not obs.args:
            return None
        # train_xor(X, t, seed): the probes pass the XOR table itself (issue 10, class 4 changed
        # the contract from train_xor(seed)); the seed is the last argument
        nets.append((int(obs.args[-1]), net))
    if len(nets) < 2:
        return None
    results = []
    for seed, net in nets:
        y = xor_output(net, XOR_X)
        solved = bool(np.all((y > 0.5) == (XOR_T > 0.5)))
        with np.errstate(all="ignore"):
            loss = float(-np.mean(XOR_T * np.log(np.clip(y, 1e-300, 1)) +
                                  (1 - XOR_T) * np.log(np.clip(1 - y, 1e-300, 1))))
        results.append((seed, net, y, solved, loss))
    return results


def _failure_diagnosis(failed: list[tuple], n: int) -> list[Diagnosis]:
    """Name what the ``failed`` of ``n`` trained networks have in common (at most one diagnosis)."""
    if all(_is_fresh_draw(net["W1"], seed) for seed, net, *_ in failed):
        return [xor_diagnosis("update_not_applied", "Training update never applied",
                      f"Probably: the weights train_xor returns are the initial random draw: for "
                      f"{len(failed)} of {n} seeds W1 is exactly what default_rng(seed) drew. The "
                      "update does not reach the arrays you return (e.g. W1 = W1 - lr * dW1 inside "
                      "a helper rebinds a local name, or the dict was built before training).",
                      ["W1", "b1", "W2", "b2"], n)]
    # Descent from any start never ends far above the loss of the constant guess y = 0.5
    # (log 2); ascent drives the outputs to saturate on the wrong side of some targets.
    uphill = [r for r in failed if r[4] > np.log(2) + 0.5 and np.min(np.abs(r[2] - 0.5)) > 0.4]
    if len(uphill) == len(failed):
        return [xor_diagnosis("update_sign", "Update goes uphill (loss increases)",
                      f"Probably: training makes the loss larger: for {len(failed)} of {n} seeds "
                      "the network ends with saturated outputs (y near 0 or 1) that are wrong "
                      "for some inputs, a loss far above log 2, the loss of always answering "
                      "0.5. Gradient descent subtracts the gradient, W = W - lr * dL/dW, with "
                      "the error signal y - t (not t - y).",
                      ["W1", "b1", "W2", "b2"], n)]
    flat = [r for r in failed if np.max(np.abs(r[2] - 0.5)) < FLAT_OUTPUT]
    if len(flat) == len(failed):
        spread = max(float(np.max(np.abs(r[2] - 0.5))) for r in flat)
        return [xor_diagnosis("training_plateau", "Training never leaves its start",
                      f"Probably: training barely moves the network: for {len(flat)} of {n} seeds "
                      f"all four outputs stay within {spread:.2g} of 0.5, where the small random "
                      "start puts them. The learning rate is too small or there are too few "
                      "steps for the small gradients of the start (a plateau): use a larger "
                      "learning rate or more steps, and check the network on the four inputs "
                      "after training.", ["W1", "b1", "W2", "b2"], n)]
    stalled = [r for r in failed if np.sum((r[2] > 0.5) != (XOR_T > 0.5)) <= 2]
    if len(stalled) == len(failed):
        solved = n - len(failed)
        return [xor_diagnosis("training_plateau", "Training stalls in a plateau",
                      f"Probably: training stalls in a plateau or a poor local minimum: it solved "
                      f"XOR for {solved} of {n} seeds; for the others some outputs sit near 0.5 "
                      "or on the wrong side. Restart from a new random draw when the result is "
                      "wrong, or use a larger learning rate, more steps or more hidden units.",
                      ["W1", "b1", "W2", "b2"], n)]
    return []


def parts() -> list[PartSpec]:
    """Part spec of ``train_xor``: each probe is a whole training run, so it gets the test's own
    per-call limit (the spec's 8 CPU seconds), not the short limit of a function evaluation."""
    return [constructions.rule_spec(
        "train_xor", diagnose_train,
        lambda rng, seen: [(XOR_X.copy(), XOR_T.copy(), s) for s in TRAIN_SEEDS],
        probe_time_limit=TRAIN_PROBE_TIME_LIMIT)]
