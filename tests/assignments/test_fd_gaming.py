"""The "matches central differences of your loss" tests award nothing to a wrong gradient.

Security finding: gradient functions returning twice the true gradient, with a loss that returns
the linearisation built from that gradient when called next to the point of the last gradient
call, passed those tests (chain_rule: logistic_ls_grad and softmax_regression_grad;
mlp_backprop: mlp_backward). The tests now also require the student's central differences to
match the reference loss's at the same points, and say which of the two is wrong.
"""
from __future__ import annotations

import pytest

from assignment_helpers import reference_source

pytestmark = pytest.mark.slow

CHAIN_GAME = '''
import numpy as _np
_rl, _rg, _sl, _sg = logistic_ls_loss, logistic_ls_grad, softmax_regression_loss, softmax_regression_grad
_last = {}
def logistic_ls_grad(w, b, x, t):
    dw, db = _rg(w, b, x, t); dw, db = 2 * dw, 2 * db
    _last["ls"] = (w, b, x.copy(), t.copy(), _rl(w, b, x, t), dw, db); return dw, db
def logistic_ls_loss(w, b, x, t):
    L = _last.get("ls")
    if L and _np.array_equal(x, L[2]) and _np.array_equal(t, L[3]) and abs(w - L[0]) + abs(b - L[1]) < 1e-3:
        return L[4] + (w - L[0]) * L[5] + (b - L[1]) * L[6]
    return _rl(w, b, x, t)
def softmax_regression_grad(W, b, X, T):
    dW, db = _sg(W, b, X, T); dW, db = 2 * dW, 2 * db
    _last["sm"] = (W.copy(), b.copy(), X.copy(), T.copy(), _sl(W, b, X, T), dW, db); return dW, db
def softmax_regression_loss(W, b, X, T):
    L = _last.get("sm")
    if L and W.shape == L[0].shape and _np.array_equal(X, L[2]) and _np.array_equal(T, L[3]) \\
            and _np.abs(W - L[0]).max() + _np.abs(b - L[1]).max() < 1e-3:
        return float(L[4] + _np.sum((W - L[0]) * L[5]) + _np.sum((b - L[1]) * L[6]))
    return _sl(W, b, X, T)
'''

MLP_GAME = '''
import numpy as _np
_rl, _rb = mlp_loss, mlp_backward
_last = {}
def mlp_backward(params, X, T):
    g = {k: 2 * v for k, v in _rb(params, X, T).items()}
    _last["p"] = ({k: v.copy() for k, v in params.items()}, X.copy(), T.copy(), _rl(params, X, T), g)
    return g
def mlp_loss(params, X, T):
    L = _last.get("p")
    if L and _np.array_equal(X, L[1]) and _np.array_equal(T, L[2]) and set(params) == set(L[0]) \\
            and all(params[k].shape == L[0][k].shape for k in params) \\
            and max(_np.abs(params[k] - L[0][k]).max() for k in params) < 1e-3:
        return float(L[3] + sum(_np.sum((params[k] - L[0][k]) * L[4][k]) for k in params))
    return _rl(params, X, T)
'''

# A wrong loss (twice the correct one) with gradients consistent with that wrong loss.
CHAIN_WRONG_LOSS = '''
_rl, _rg, _sl, _sg = logistic_ls_loss, logistic_ls_grad, softmax_regression_loss, softmax_regression_grad
def logistic_ls_loss(w, b, x, t): return 2 * _rl(w, b, x, t)
def logistic_ls_grad(w, b, x, t): return tuple(2 * g for g in _rg(w, b, x, t))
def softmax_regression_loss(W, b, X, T): return 2 * _sl(W, b, X, T)
def softmax_regression_grad(W, b, X, T): return tuple(2 * g for g in _sg(W, b, X, T))
'''
MLP_WRONG_LOSS = '''
_rl, _rb = mlp_loss, mlp_backward
def mlp_loss(params, X, T): return 2 * _rl(params, X, T)
def mlp_backward(params, X, T): return {k: 2 * v for k, v in _rb(params, X, T).items()}
'''
# A right loss with a wrong gradient (twice the truth).
CHAIN_WRONG_GRAD = '''
_rg, _sg = logistic_ls_grad, softmax_regression_grad
def logistic_ls_grad(w, b, x, t): return tuple(2 * g for g in _rg(w, b, x, t))
def softmax_regression_grad(W, b, X, T): return tuple(2 * g for g in _sg(W, b, X, T))
'''
MLP_WRONG_GRAD = '''
_rb = mlp_backward
def mlp_backward(params, X, T): return {k: 2 * v for k, v in _rb(params, X, T).items()}
'''

FD_TESTS = {"chain_rule": ("logistic_ls_grad: matches central differences of your loss",
                           "softmax_regression_grad: matches central differences of your loss"),
            "mlp_backprop": ("mlp_backward: matches central differences of your loss",)}
LOSS = {"logistic_ls_grad": "logistic_ls_loss", "softmax_regression_grad": "softmax_regression_loss",
        "mlp_backward": "mlp_loss"}


def fd_results(grade, slug, extra):
    report = grade(slug, reference_source(slug) + "\n" + extra if extra else reference_source(slug))
    by_name = {t.name: t for t in report.tests}
    return [by_name[name] for name in FD_TESTS[slug]]


@pytest.mark.parametrize("slug, attack", [("chain_rule", CHAIN_GAME), ("mlp_backprop", MLP_GAME)])
def test_gamed_loss_scores_zero_and_blames_the_loss(grade, slug, attack):
    for t in fd_results(grade, slug, attack):
        assert t.score == 0, (t.name, t.feedback)
        loss = LOSS[t.name.split(":")[0]]
        assert f"your {loss} is wrong at the probe points: fix it first" in t.feedback


@pytest.mark.parametrize("slug", ["chain_rule", "mlp_backprop"])
def test_correct_solution_passes(grade, slug):
    for t in fd_results(grade, slug, ""):
        assert t.score == t.max_score, (t.name, t.feedback)


@pytest.mark.parametrize("slug, source", [("chain_rule", CHAIN_WRONG_LOSS),
                                          ("mlp_backprop", MLP_WRONG_LOSS)])
def test_wrong_loss_with_consistent_gradient_fails_with_loss_feedback(grade, slug, source):
    for t in fd_results(grade, slug, source):
        assert t.score == 0, (t.name, t.feedback)
        loss = LOSS[t.name.split(":")[0]]
        assert f"your {loss} is wrong at the probe points: fix it first" in t.feedback
        assert "does not match your own loss" not in t.feedback


@pytest.mark.parametrize("slug, source", [("chain_rule", CHAIN_WRONG_GRAD),
                                          ("mlp_backprop", MLP_WRONG_GRAD)])
def test_wrong_gradient_with_right_loss_is_told_so(grade, slug, source):
    for t in fd_results(grade, slug, source):
        assert t.score == 0, (t.name, t.feedback)
        assert "gradient does not match your own loss" in t.feedback
        assert "wrong at the probe points" not in t.feedback
