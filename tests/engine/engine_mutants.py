"""The mutant suite's catalogue: each lecture-2 mistake as a text edit of a reference solution.

``fails`` lists the checks that must lose points, ``maybe`` checks whose outcome depends on the
mistake's side effects (training with a wrong gradient), and ``words`` what the feedback of each
failing check must contain (the function and the parameter block or variable at fault).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mutant:
    """One mistake: ``edits`` are (old, new) text substitutions applied once each."""

    id: str
    slug: str
    edits: tuple[tuple[str, str], ...]
    fails: frozenset[str]
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    maybe: frozenset[str] = frozenset()

    def apply(self, source: str) -> str:
        """Return ``source`` with every edit applied; AssertionError if an edit does not match."""
        for old, new in self.edits:
            assert source.count(old) == 1, f"{self.id}: {old!r} found {source.count(old)} times"
            source = source.replace(old, new)
        return source


def M(id: str, slug: str, edits, fails, words=None, maybe=()) -> Mutant:
    return Mutant(id, slug, tuple(edits), frozenset(fails), dict(words or {}), frozenset(maybe))


BACKWARD = {"check_backward_reference", "check_backward_finite_differences",
            "check_backward_hidden"}
DEEP = {"check_deep_sigmoid", "check_deep_tanh_relu", "check_deep_mnist_size",
        "check_deep_large_logits"}
SIGMA_PRIME = 'Z_bar = H_bar * H * (1.0 - H)'
Y_BAR = 'Y_bar = (Y - T) / X.shape[0]'
LOSS = 'return float(0.5 * ((Y - T) ** 2).sum() / X.shape[0])'
FORWARD_OUT = 'return H @ params["W2"].T + params["b2"]'
FORWARD_HIDDEN = 'H = _sigmoid(X @ params["W1"].T + params["b1"])\n    return'
SOFTMAX_SUM = 'np.exp(shifted).sum(axis=1, keepdims=True)'
MAX_SHIFT = 'shifted = Z - Z.max(axis=1, keepdims=True)'
TRAIN = {"check_train_digits"}

MUTANTS = [
    # -- mlp_backward
    M("missing sigma'", "mlp_backprop", [(SIGMA_PRIME, "Z_bar = H_bar")], BACKWARD,
      {"check_backward_reference": ("mlp_backward", "W1", "b1"),
       "check_backward_finite_differences": ("mlp_backward", "W1", "mlp_loss")}),
    M("sigma' of the activation", "mlp_backprop",
      [(SIGMA_PRIME, "Z_bar = H_bar * _sigmoid(H) * (1.0 - _sigmoid(H))")], BACKWARD,
      {"check_backward_reference": ("mlp_backward", "W1", "b1")}),
    M("transposed W1 gradient", "mlp_backprop", [('"W1": Z_bar.T @ X,', '"W1": X.T @ Z_bar,')],
      BACKWARD, {"check_backward_reference": ("mlp_backward", "W1", "shape")}),
    M("bias gradient not summed", "mlp_backprop", [('"b1": Z_bar.sum(axis=0),', '"b1": Z_bar,')],
      BACKWARD, {"check_backward_reference": ("mlp_backward", "b1", "shape")}),
    M("bias gradient summed over every axis", "mlp_backprop",
      [('"b2": Y_bar.sum(axis=0),', '"b2": Y_bar.sum(),')], BACKWARD,
      {"check_backward_reference": ("mlp_backward", "b2", "sum over every axis")}),
    M("sum instead of mean in the gradient", "mlp_backprop", [(Y_BAR, "Y_bar = (Y - T)")],
      BACKWARD, {"check_backward_reference": ("mlp_backward", "W2", "does not match your loss"),
                 "check_backward_finite_differences": ("mlp_backward", "b2", "mlp_loss")}),
    M("sum instead of mean in the loss", "mlp_backprop",
      [(LOSS, "return float(0.5 * ((Y - T) ** 2).sum())")],
      # issue 11: the right gradient is checked against the correct loss: charged once
      {"check_loss_values"},
      {"check_loss_values": ("mlp_loss", "the loss")}),
    M("factor 1/2 missing in the loss", "mlp_backprop",
      [(LOSS, "return float(((Y - T) ** 2).sum() / X.shape[0])")],
      {"check_loss_values"},
      {"check_loss_values": ("mlp_loss", "the loss")}),
    M("factor 2 in the gradient", "mlp_backprop", [(Y_BAR, "Y_bar = 2.0 * (Y - T) / X.shape[0]")],
      BACKWARD, {"check_backward_reference": ("mlp_backward", "W2", "b2")}),
    M("sign flipped in the gradient", "mlp_backprop", [(Y_BAR, "Y_bar = (T - Y) / X.shape[0]")],
      BACKWARD, {"check_backward_reference": ("mlp_backward", "W1", "W2")}),
    # -- mlp_forward
    M("forward pass mutates its input", "mlp_backprop",
      [(FORWARD_HIDDEN, 'X *= 2.0\n    H = _sigmoid((X / 2.0) @ params["W1"].T + params["b1"])'
                        "\n    return")],
      {"check_forward_values", "check_forward_hidden", "check_loss_values"},
      {"check_forward_values": ("mlp_forward modified its input X in place",),
       "check_loss_values": ("mlp_loss modified its input X in place",)}),
    M("forward returns a list", "mlp_backprop",
      [(FORWARD_OUT, f"return ({FORWARD_OUT[7:]}).tolist()")],
      {"check_forward_values", "check_forward_hidden"},
      {"check_forward_values": ("mlp_forward", "Y", "a list")}),
    M("NaN in one entry", "mlp_backprop",
      [(FORWARD_OUT, f"Y = {FORWARD_OUT[7:]}\n    Y[0, 0] = np.nan\n    return Y")],
      {"check_forward_values", "check_forward_hidden", "check_loss_values"},
      {"check_forward_values": ("mlp_forward", "NaN", "Y[0, 0]"),
       "check_loss_values": ("mlp_loss", "not a finite number")}),
    # -- deep_loss_and_grads
    M("softmax normalised over the whole batch", "mlp_backprop",
      [(SOFTMAX_SUM, "np.exp(shifted).sum()")], DEEP,
      {"check_deep_sigmoid": ("deep_loss_and_grads", 'params[1]["W"]')}, maybe=TRAIN),
    M("deep: sigma' of the activation", "mlp_backprop",
      [("return H * (1.0 - H)", "return _sigmoid(H) * (1.0 - _sigmoid(H))")],
      # check_deep_tanh_relu also has sigmoid networks with confident predictions (issue 11)
      {"check_deep_sigmoid", "check_deep_mnist_size", "check_deep_large_logits",
       "check_deep_tanh_relu"},
      {"check_deep_sigmoid": ("deep_loss_and_grads", 'params[0]["W"]', 'params[0]["b"]'),
       "check_deep_mnist_size": ("deep_loss_and_grads", 'params[0]["W"]')}),
    M("deep: sign flipped", "mlp_backprop", [("Z_bar /= n", "Z_bar /= -n")], DEEP | TRAIN,
      {"check_deep_tanh_relu": ("deep_loss_and_grads", 'params[0]["W"]'),
       "check_train_digits": ("train_digits", "held-out accuracy")}),
    M("deep: bias summed over every axis", "mlp_backprop",
      [('"b": Z_bar.sum(axis=0)}', '"b": Z_bar.sum()}')], DEEP,
      {"check_deep_mnist_size": ("deep_loss_and_grads", 'params[0]["b"]', "axis=0")},
      maybe=TRAIN),
    M("deep: softmax without the max shift", "mlp_backprop", [(MAX_SHIFT, "shifted = Z")],
      {"check_deep_large_logits"}, maybe={"check_deep_tanh_relu"}, words=
      {"check_deep_large_logits": ("deep_loss_and_grads", "the loss", "not a finite number")}),
    M("train_digits does not train", "mlp_backprop", [("for _ in range(20):", "for _ in range(0):")],
      TRAIN, {"check_train_digits": ("train_digits", "held-out accuracy")}),
    # -- chain_rule
    M("softmax without the max shift", "chain_rule", [(MAX_SHIFT, "shifted = Z")],
      {"check_softmax_loss_large_logits", "check_softmax_grad_large_logits"},
      {"check_softmax_loss_large_logits": ("softmax_regression_loss",)}),
    M("chain_rule: softmax over the whole batch", "chain_rule",
      [(SOFTMAX_SUM, "np.exp(shifted).sum()")],
      {"check_softmax_loss_values", "check_softmax_loss_large_logits",
       "check_softmax_loss_hidden", "check_softmax_grad_reference",
       "check_softmax_grad_large_logits", "check_softmax_grad_hidden",
       "check_softmax_grad_finite_differences", "check_softmax_grad_confident"},
      {"check_softmax_grad_reference": ("softmax_regression_grad",)}),
    # -- xor
    M("wrong XOR weights", "xor", [('"b2": np.array([-0.5]),', '"b2": np.array([0.5]),')],
      {"check_threshold_truth_table"}, {"check_threshold_truth_table": ("threshold_xor_params",)}),
    M("xor_features returns a view of its input", "xor",
      [("return np.column_stack([X[:, 0], X[:, 1], X[:, 0] * X[:, 1]])", "return X[:, :]")],
      {"check_features_values", "check_features_hidden"},
      {"check_features_values": ("xor_features", "view of its input X")}),
]
