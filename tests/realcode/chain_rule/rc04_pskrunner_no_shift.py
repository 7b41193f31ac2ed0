# gradelab real-code corpus (tests/realcode): assignment chain_rule
# source: {"repo": "pskrunner14/neural-networks", "path": "loss.py", "commit": "2091781e2e590f706d5a03abcac806d3aff3815a"}
# license: no LICENSE file for this repository in the index (all rights reserved by default). Nothing of its text is copied here: this file is a paraphrase written
#   for gradelab that keeps the source's algorithm and mistake (third-party code stays out of
#   gradelab's commits).
# port: softmax_crossentropy_with_logits (per-example losses; the caller averages them) and
#   grad_softmax_crossentropy_with_logits (already divided by the batch size) -> the contract's
#   loss (mean of the per-example losses) and gradient, with logits X W^T + b and labels
#   argmax(T); dW = dZ^T X and db = column sums of dZ added by the port (the source stops at
#   the logits). The source's debugging print is left out.
# mistake: neither function shifts the logits: -z_y + log(sum(exp(z))) and exp(z)/sum(exp(z))
#   overflow for logits of size 1000 (inf / nan). Right for moderate logits.
# label: {"function": "softmax_regression_loss", "mistake": "softmax_without_max_shift", "blocks": ["loss"]}
# label: {"function": "softmax_regression_grad", "mistake": "softmax_without_max_shift", "blocks": ["dW", "db"]}
# verdict: {"softmax_regression_loss": "fail", "softmax_regression_grad": "fail"}
import numpy as np


def softmax_crossentropy_with_logits(logits, targets):
    answer_logits = logits[np.arange(len(logits)), targets]
    return -answer_logits + np.log(np.sum(np.exp(logits), axis=-1))


def grad_softmax_crossentropy_with_logits(logits, targets):
    ones = np.zeros_like(logits)
    ones[np.arange(len(logits)), targets] = 1
    soft = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return (soft - ones) / logits.shape[0]


def logistic_ls_loss(w, b, x, t):
    raise NotImplementedError("not ported")


def logistic_ls_grad(w, b, x, t):
    raise NotImplementedError("not ported")


def multivariate_dfdt(t):
    raise NotImplementedError("not ported")


def softmax_regression_loss(W, b, X, T):
    logits = X @ W.T + b
    return float(np.mean(softmax_crossentropy_with_logits(logits, np.argmax(T, axis=1))))


def softmax_regression_grad(W, b, X, T):
    logits = X @ W.T + b
    d_logits = grad_softmax_crossentropy_with_logits(logits, np.argmax(T, axis=1))
    return d_logits.T @ X, d_logits.sum(axis=0)
