"""The reference-loss guard of gradcheck: a wrong gradient paired with a loss faked to agree with
it near the probe points must not pass a central-difference check (security finding: gradients
twice the truth, loss linearised around the last gradient call).
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.engine import gradcheck
from test_gradcheck import case, grads, loss


def linearised(point, slope):
    """A loss equal to ``loss`` away from ``point`` but, next to it, its linearisation with the
    (wrong) gradient ``slope`` -- the attack of the finding."""
    base = loss(*point)

    def fake(params, X, T):
        if max(np.abs(params[k] - point[0][k]).max() for k in params) < 1e-3:
            return base + sum(float(np.sum((params[k] - point[0][k]) * slope[k])) for k in params)
        return loss(params, X, T)
    return fake


@pytest.mark.parametrize("mode", ["full", "directional"])
def test_gamed_loss_passes_alone_but_fails_against_the_reference_loss(mode):
    rng = np.random.default_rng(11)
    params, X, T = case(rng)
    args = (params, X, T)
    blocks = gradcheck.blocks_of(params)
    wrong = {k: 2 * v for k, v in grads(*args).items()}
    fake = linearised(args, wrong)
    analytic = [wrong[b.name] for b in blocks]
    alone = gradcheck.check_gradient(gradcheck.local_evaluator(fake, args), blocks, analytic,
                                     mode=mode, rng=np.random.default_rng(0))
    assert all(r.verdict == "pass" and r.loss_verdict is None for r in alone)  # the hole
    guarded = gradcheck.check_gradient(gradcheck.local_evaluator(fake, args), blocks, analytic,
                                       mode=mode, rng=np.random.default_rng(0),
                                       reference=gradcheck.local_evaluator(loss, args))
    assert all(r.verdict == "pass" and r.loss_verdict == "fail" for r in guarded)
    assert all(r.failed and not r.passed for r in guarded)
    assert all(r.loss_error == pytest.approx(1 / 3, rel=1e-3) for r in guarded)


def test_correct_gradient_and_loss_pass_the_guard():
    rng = np.random.default_rng(12)
    params, X, T = case(rng)
    args = (params, X, T)
    blocks = gradcheck.blocks_of(params)
    g = grads(*args)
    results = gradcheck.check_gradient(gradcheck.local_evaluator(loss, args), blocks,
                                       [g[b.name] for b in blocks], mode="full", rng=rng,
                                       reference=gradcheck.local_evaluator(loss, args))
    assert all(r.passed and r.loss_error <= 1e-9 for r in results), results


def test_wrong_gradient_with_right_loss_is_a_gradient_failure_only():
    rng = np.random.default_rng(13)
    params, X, T = case(rng)
    args = (params, X, T)
    blocks = gradcheck.blocks_of(params)
    g = grads(*args)
    g["b2"] = -g["b2"]
    results = gradcheck.check_gradient(gradcheck.local_evaluator(loss, args), blocks,
                                       [g[b.name] for b in blocks], mode="full", rng=rng,
                                       reference=gradcheck.local_evaluator(loss, args))
    assert {r.name: (r.verdict, r.loss_verdict) for r in results} == {
        "W1": ("pass", "pass"), "b1": ("pass", "pass"), "W2": ("pass", "pass"),
        "b2": ("fail", "pass")}
