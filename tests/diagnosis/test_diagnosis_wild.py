"""Mistakes and correct code written in forms the corpus does not use (robustness of matching).

Buggy forms must be named right; correct forms and mistakes that no model describes must get no
diagnosis at all (a wrong "probably" is worse than none).
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.diagnosis.probe import probe_and_diagnose

from .helpers import in_process_caller


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def bw_einsum_no_sigma_prime(params, X, T):
    N = X.shape[0]
    H = sig(np.einsum("nd,hd->nh", X, params["W1"]) + params["b1"])
    Yb = (np.einsum("nh,kh->nk", H, params["W2"]) + params["b2"] - T) / N
    Zb = np.einsum("nk,kh->nh", Yb, params["W2"])
    return {"W1": np.einsum("nh,nd->hd", Zb, X), "b1": Zb.sum(0),
            "W2": np.einsum("nk,nh->kh", Yb, H), "b2": Yb.sum(0)}


def bw_loops_sum(params, X, T):
    g = {k: np.zeros_like(v) for k, v in params.items()}
    for n in range(X.shape[0]):
        h = sig(params["W1"] @ X[n] + params["b1"])
        yb = params["W2"] @ h + params["b2"] - T[n]
        g["W2"] += np.outer(yb, h)
        g["b2"] += yb
        zb = (params["W2"].T @ yb) * h * (1 - h)
        g["W1"] += np.outer(zb, X[n])
        g["b1"] += zb
    return g


def bw_bias_without_mean(params, X, T):
    N = X.shape[0]
    H = sig(X @ params["W1"].T + params["b1"])
    Yb = (H @ params["W2"].T + params["b2"] - T) / N
    Zb = (Yb @ params["W2"]) * H * (1 - H)
    return {"W1": Zb.T @ X, "b1": N * Zb.sum(0), "W2": Yb.T @ H, "b2": N * Yb.sum(0)}


def bw_relu_instead_of_sigmoid(params, X, T):
    N = X.shape[0]
    Z = X @ params["W1"].T + params["b1"]
    H = np.maximum(Z, 0)
    Yb = (H @ params["W2"].T + params["b2"] - T) / N
    Zb = (Yb @ params["W2"]) * (Z > 0)
    return {"W1": Zb.T @ X, "b1": Zb.sum(0), "W2": Yb.T @ H, "b2": Yb.sum(0)}


def sm_grad_jacobian_loops(W, b, X, T):
    N = X.shape[0]
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for n in range(N):
        z = W @ X[n] + b
        p = np.exp(z - z.max())
        p /= p.sum()
        J = np.diag(p) - np.outer(p, p)              # Jacobian of softmax
        ybar = -T[n] / p / N                          # error signal of the probabilities
        zbar = J.T @ ybar
        dW += np.outer(zbar, X[n])
        db += zbar
    return dW, db


def sm_loss_mean_over_classes_too(W, b, X, T):
    Z = X @ W.T + b
    S = Z - Z.max(axis=1, keepdims=True)
    logp = S - np.log(np.exp(S).sum(axis=1, keepdims=True))
    return float(-(T * logp).mean())


def dfdt_forward_difference(t):
    f = lambda s: s ** 2 + np.exp(np.cos(s) * s ** 2)  # noqa: E731
    return (f(t + 1e-4) - f(t)) / 1e-4


def ls_grad_loops_sign(w, b, x, t):
    out_w, out_b = [], []
    for xi, ti in zip(x, t):
        y = sig(w * xi + b)
        zb = (ti - y) * y * (1 - y)
        out_w.append(zb * xi)
        out_b.append(zb)
    return np.array(out_w), np.array(out_b)


def deep_alternative_derivatives(params, X, y, activation):
    """Correct, with f'(Z) recomputed from Z instead of taken from H."""
    N = X.shape[0]
    Hs, Zs = [X], []
    for p in params[:-1]:
        Zs.append(Hs[-1] @ p["W"].T + p["b"])
        Hs.append({"sigmoid": sig, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}[activation](Zs[-1]))
    L = Hs[-1] @ params[-1]["W"].T + params[-1]["b"]
    S = L - L.max(1, keepdims=True)
    lp = S - np.log(np.exp(S).sum(1, keepdims=True))
    G = np.exp(lp)
    G[np.arange(N), y] -= 1
    G /= N
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        grads[l] = {"W": G.T @ Hs[l], "b": G.sum(0)}
        if l:
            Z = Zs[l - 1]
            d = {"sigmoid": sig(Z) * (1 - sig(Z)), "tanh": 1 - np.tanh(Z) ** 2,
                 "relu": np.where(Z > 0, 1.0, 0.0)}[activation]
            G = (G @ params[l]["W"]) * d
    return float(-lp[np.arange(N), y].mean()), grads


CASES = [
    ("mlp_backprop", "mlp_backward", bw_einsum_no_sigma_prime, "activation_derivative_missing"),
    ("mlp_backprop", "mlp_backward", bw_loops_sum, "times_batch_size"),
    ("mlp_backprop", "mlp_backward", bw_bias_without_mean, "times_batch_size"),
    ("chain_rule", "logistic_ls_grad", ls_grad_loops_sign, "sign_flipped"),
    ("mlp_backprop", "mlp_backward", bw_relu_instead_of_sigmoid, None),
    ("chain_rule", "softmax_regression_grad", sm_grad_jacobian_loops, None),
    # named since the untraced losses get scale fingerprints too (issue 13): a mean over N*K
    ("chain_rule", "softmax_regression_loss", sm_loss_mean_over_classes_too, "divided_by_classes"),
    ("chain_rule", "multivariate_dfdt", dfdt_forward_difference, None),
    ("mlp_backprop", "deep_loss_and_grads", deep_alternative_derivatives, None),
]


@pytest.mark.parametrize("slug, function, student, expected", CASES, ids=[c[2].__name__ for c in CASES])
def test_written_differently(slug, function, student, expected):
    found = probe_and_diagnose(slug, function, in_process_caller(student))
    assert [d.key for d in found if d.kind == "mistake"][:1] == ([expected] if expected else [])
    if expected is None:
        assert found == []
