'''Planted mistakes and correct rewrites for the ``chain_rule`` assignment.

Each snippet is appended to the reference solution, so it replaces one (or, for a rewrite, every)
function while the rest of the file stays correct. Snippets are self-contained (their helpers
start with ``_m_``) so a test can also run them in-process.
'''
from __future__ import annotations

HELPERS = """
import numpy as np

def _m_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))

def _m_softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)
"""

_LS_GRAD = """
def logistic_ls_grad(w, b, x, t):
    z = w * x + b
    y = _m_sigmoid(z)
    z_bar = {zbar}
    return {ret}
"""


def _ls_grad(zbar: str, ret: str = "z_bar * x, z_bar") -> str:
    return _LS_GRAD.format(zbar=zbar, ret=ret)


_SM_GRAD = """
def softmax_regression_grad(W, b, X, T):
    N = X.shape[0]
    Z = X @ W.T + b
    {probs}
    Z_bar = {zbar}
    return {ret}
"""


def _sm_grad(zbar: str = "(Y - T) / N", ret: str = "Z_bar.T @ X, Z_bar.sum(axis=0)",
             probs: str = "Y = _m_softmax(Z)") -> str:
    return _SM_GRAD.format(zbar=zbar, ret=ret, probs=probs)


_SM_LOSS = """
def softmax_regression_loss(W, b, X, T):
    Z = X @ W.T + b
    {probs}
    return float({ret})
"""


_LOG_SOFTMAX = ("S = Z - Z.max(axis=1, keepdims=True)\n"
                "    logY = S - np.log(np.exp(S).sum(axis=1, keepdims=True))")


def _sm_loss(probs: str = _LOG_SOFTMAX, ret: str = "-(T * logY).sum() / X.shape[0]") -> str:
    if "logY" not in probs:
        probs += "\n    logY = np.log(Y)"
    return _SM_LOSS.format(probs=probs, ret=ret)


_AXIS0 = ("E = np.exp(Z - Z.max(axis=0, keepdims=True))\n"
          "    Y = E / E.sum(axis=0, keepdims=True)")
_WHOLE = "E = np.exp(Z - Z.max())\n    Y = E / E.sum()"
_NOSHIFT = "E = np.exp(Z)\n    Y = E / E.sum(axis=1, keepdims=True)"

# (name, planted misconception key, snippet)
MUTANTS = [
    ("ls_grad_no_sigma_prime", "activation_derivative_missing", _ls_grad("(y - t)")),
    ("ls_grad_sigma_prime_of_y", "derivative_on_activation",
     _ls_grad("(y - t) * _m_sigmoid(y) * (1 - _m_sigmoid(y))")),
    ("ls_grad_z_one_minus_z", "derivative_formula_on_preactivation", _ls_grad("(y - t) * z * (1 - z)")),
    ("ls_grad_t_minus_y", "sign_flipped", _ls_grad("(t - y) * y * (1 - y)")),
    ("ls_grad_factor_two", "times_two", _ls_grad("2 * (y - t) * y * (1 - y)")),
    ("ls_loss_no_half", "times_two", """
def logistic_ls_loss(w, b, x, t):
    return (_m_sigmoid(w * x + b) - t) ** 2
"""),
    ("dfdt_only_x_path", "chain_rule_missing_path", """
def multivariate_dfdt(t):
    x, y = np.cos(t), t ** 2
    return y * np.exp(x * y) * -np.sin(t)
"""),
    ("dfdt_only_y_path", "chain_rule_missing_path", """
def multivariate_dfdt(t):
    x, y = np.cos(t), t ** 2
    return (1 + x * np.exp(x * y)) * 2 * t
"""),
    ("ls_grad_batch_mean", "reduced_over_batch",
     _ls_grad("(y - t) * y * (1 - y)", ret="np.mean(z_bar * x), np.mean(z_bar)")),
    ("dfdt_plus_sin", "partial_derivative_slip", """
def multivariate_dfdt(t):
    x, y = np.cos(t), t ** 2
    return y * np.exp(x * y) * np.sin(t) + (1 + x * np.exp(x * y)) * 2 * t
"""),
    ("dfdt_lost_one", "partial_derivative_slip", """
def multivariate_dfdt(t):
    x, y = np.cos(t), t ** 2
    return y * np.exp(x * y) * -np.sin(t) + x * np.exp(x * y) * 2 * t
"""),
    ("sm_loss_sum", "times_batch_size", _sm_loss(ret="-(T * logY).sum()")),
    ("sm_loss_axis0", "softmax_wrong_axis", _sm_loss(probs=_AXIS0)),
    ("sm_loss_whole_batch", "softmax_whole_batch", _sm_loss(probs=_WHOLE)),
    ("sm_loss_no_shift", "softmax_no_max_shift", _sm_loss(probs=_NOSHIFT)),
    ("sm_grad_sum", "times_batch_size", _sm_grad(zbar="Y - T")),
    ("sm_grad_mean_twice", "divided_by_batch_size", _sm_grad(zbar="(Y - T) / N / N")),
    ("sm_grad_t_minus_y", "sign_flipped", _sm_grad(zbar="(T - Y) / N")),
    ("sm_grad_half", "times_half", _sm_grad(zbar="0.5 * (Y - T) / N")),
    ("sm_grad_two", "times_two", _sm_grad(zbar="2 * (Y - T) / N")),
    ("sm_grad_transposed", "transposed", _sm_grad(ret="X.T @ Z_bar, Z_bar.sum(axis=0)")),
    ("sm_grad_bias_not_summed", "bias_not_summed", _sm_grad(ret="Z_bar.T @ X, Z_bar")),
    ("sm_grad_bias_all_axes", "bias_summed_all_axes", _sm_grad(ret="Z_bar.T @ X, np.sum(Z_bar)")),
    ("sm_grad_axis0", "softmax_wrong_axis", _sm_grad(probs=_AXIS0)),
    ("sm_grad_whole_batch", "softmax_whole_batch", _sm_grad(probs=_WHOLE)),
    ("sm_grad_no_shift", "softmax_no_max_shift", _sm_grad(probs=_NOSHIFT)),
    ("sm_grad_lse_no_shift", "softmax_no_max_shift",
     _sm_grad(probs="Y = np.exp(Z - np.log(np.exp(Z).sum(axis=1, keepdims=True)))")),
    ("sm_loss_batch_row_shift", "softmax_whole_batch", _sm_loss(
        probs="S = Z - Z.max(axis=1, keepdims=True)\n    logY = S - np.log(np.exp(S).sum())")),
    ("sm_grad_product_of_means", "right_for_single_example",
     _sm_grad(ret="np.outer(Z_bar.mean(axis=0), X.mean(axis=0)) * N, Z_bar.sum(axis=0)")),
]

REWRITES = [
    ("loops", """
def logistic_ls_loss(w, b, x, t):
    out = np.empty(len(x))
    for i in range(len(x)):
        y = 1.0 / (1.0 + np.exp(-(w * x[i] + b)))
        out[i] = 0.5 * (y - t[i]) ** 2
    return out

def logistic_ls_grad(w, b, x, t):
    dw, db = np.empty(len(x)), np.empty(len(x))
    for i in range(len(x)):
        y = 1.0 / (1.0 + np.exp(-(w * x[i] + b)))
        zbar = (y - t[i]) * y * (1.0 - y)
        dw[i], db[i] = zbar * x[i], zbar
    return dw, db

def multivariate_dfdt(t):
    out = np.empty(len(t))
    for i, ti in enumerate(t):
        x, y = np.cos(ti), ti * ti
        out[i] = y * np.exp(x * y) * (-np.sin(ti)) + (1.0 + x * np.exp(x * y)) * 2.0 * ti
    return out

def softmax_regression_loss(W, b, X, T):
    total = 0.0
    for n in range(X.shape[0]):
        z = W @ X[n] + b
        m = z.max()
        logp = z - m - np.log(np.sum(np.exp(z - m)))
        total -= float(T[n] @ logp)
    return total / X.shape[0]

def softmax_regression_grad(W, b, X, T):
    N = X.shape[0]
    dW, db = np.zeros_like(W), np.zeros_like(b)
    for n in range(N):
        z = W @ X[n] + b
        e = np.exp(z - z.max())
        zbar = (e / e.sum() - T[n]) / N
        dW += np.outer(zbar, X[n])
        db += zbar
    return dW, db
"""),
    ("einsum", """
def _m_sig(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))

def logistic_ls_loss(w, b, x, t):
    return 0.5 * np.square(_m_sig(np.multiply(w, x) + b) - t)

def logistic_ls_grad(w, b, x, t):
    y = _m_sig(w * x + b)
    zbar = np.einsum("i,i,i->i", y - t, y, 1.0 - y)
    return np.einsum("i,i->i", zbar, x), zbar

def multivariate_dfdt(t):
    x, y = np.cos(t), np.square(t)
    fx, fy = y * np.exp(x * y), 1.0 + x * np.exp(x * y)
    return np.einsum("i,i->i", fx, -np.sin(t)) + np.einsum("i,i->i", fy, 2.0 * t)

def softmax_regression_loss(W, b, X, T):
    Z = np.einsum("kd,nd->nk", W, X) + b
    Z = Z - Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.einsum("nk->n", np.exp(Z)))[:, None]
    return float(-np.einsum("nk,nk->", T, logp) / X.shape[0])

def softmax_regression_grad(W, b, X, T):
    Z = np.einsum("kd,nd->nk", W, X) + b
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    Zbar = (E / E.sum(axis=1, keepdims=True) - T) / X.shape[0]
    return np.einsum("nk,nd->kd", Zbar, X), np.einsum("nk->k", Zbar)
"""),
    ("logsumexp", """
def logistic_ls_loss(w, b, x, t):
    y = np.exp(-np.logaddexp(0.0, -(w * x + b)))
    return 0.5 * (y - t) ** 2

def logistic_ls_grad(w, b, x, t):
    z = w * x + b
    y = np.exp(-np.logaddexp(0.0, -z))
    one_minus_y = np.exp(-np.logaddexp(0.0, z))
    zbar = (y - t) * y * one_minus_y
    return zbar * x, zbar

def multivariate_dfdt(t):
    x, y = np.cos(t), t ** 2
    e = np.exp(x * y)
    return -np.sin(t) * y * e + 2.0 * t + 2.0 * t * x * e

def _m_lse(Z):
    m = Z.max(axis=1, keepdims=True)
    return m + np.log(np.exp(Z - m).sum(axis=1, keepdims=True))

def softmax_regression_loss(W, b, X, T):
    Z = X @ W.T + b
    return float(np.mean(_m_lse(Z)[:, 0] - (T * Z).sum(axis=1)))

def softmax_regression_grad(W, b, X, T):
    Z = X @ W.T + b
    P = np.exp(Z - _m_lse(Z))
    G = (P - T) / len(X)
    return G.T @ X, G.sum(axis=0)
"""),
]
