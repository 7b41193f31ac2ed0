"""Student-facing words for diagnoses, in the student's terms (issue 13).

Messages name the student's function and the blocks of *their* return value (``dW``, the
``"W1"`` entry of the returned dict, ``grads[0]["W"]``), number layers as the contract does
(layer l is ``params[l - 1]``, counted from the input), and take their examples from the
assignment's loss: a cross-entropy function never gets a squared-error example.

Templates are formatted by ``evidence.render`` with ``{blocks}``, ``{s}``, ``{is_}``, ``{what}``,
``{part}`` and the loss placeholders of :func:`loss_words`.
"""
from __future__ import annotations

from grader.diagnosis.fingerprint import Edit, Explanation
from grader.diagnosis.model import Diagnosis, PartSpec

#: How each activation's derivative is written (lecture 2, activation functions).
DERIVATIVES = {"sigmoid": "h (1 - h)", "tanh": "1 - h^2", "relu": "1 where z > 0, else 0"}

#: The correct output error signal of each traced function, in words.
SIGNALS = {
    "logistic_ls_grad": "for 1/2 (y - t)^2 with y = sigma(z), y_bar = y - t and z_bar = y_bar sigma'(z): "
                        "sigma' enters once",
    "softmax_regression_grad": "for softmax followed by cross-entropy, the error signal of the logits is "
                               "z_bar = (softmax(z) - t) / N: the softmax Jacobian and the log cancel, so "
                               "no y (1 - y) factor remains",
    "mlp_backward": "with a linear output layer, y_bar = (y - t) / N, with no activation derivative",
    "deep_loss_and_grads": "for softmax followed by cross-entropy, the error signal of the logits is "
                           "(softmax(z) - onehot(y)) / N, with no further factor",
}


def loss_words(part: PartSpec) -> dict[str, str]:
    """Return the loss-specific examples used by the factor messages of ``part``."""
    if part.loss == "cross-entropy":
        return {
            "two_example": "e.g. a term added twice, or a 2 carried over from a squared-error "
                           "formula (the cross-entropy's error signal softmax(z) - t has no 2)",
            "half_example": "e.g. an extra 1/2 (the cross-entropy -sum t log y has none)",
            "signal": "softmax(z) - t, not t - softmax(z)",
            "k_times": "K, the number of classes: something is summed over the K classes that "
                       "should not be (the cross-entropy of an example is -log of the "
                       "probability of its own class only)",
            "k_divided": "K, the number of classes: a mean over the classes where the loss "
                         "sums over them",
        }
    if part.loss == "squared error":
        return {
            "two_example": "e.g. the 1/2 of 1/2 (y - t)^2 that cancels the 2 its derivative "
                           "brings down, or a term counted twice",
            "half_example": "e.g. the derivative of 1/2 (y - t)^2 is (y - t) with no 1/2 left, "
                            "since the 2 of the square cancels it",
            "signal": "y - t, not t - y",
            "k_times": "K, the number of outputs: something is summed over the K outputs "
                       "that should not be",
            "k_divided": "K, the number of outputs: a mean over all N*K entries (np.mean of "
                         "the squared errors) where the loss sums over the K outputs of an "
                         "example and averages over the N examples only",
        }
    return {"two_example": "e.g. a term counted twice",
            "half_example": "e.g. an extra 1/2 in front",
            "signal": "e.g. d cos t/dt = -sin t",
            "k_times": "K: something is summed over K entries that should not be",
            "k_divided": "K: a mean over K entries where the formula sums over them"}


def layer_phrase(part: PartSpec, layer: int | None) -> str:
    """Name a layer as the student's code numbers it ("" for one-layer functions)."""
    if part.name == "deep_loss_and_grads":
        if layer is None:
            return "of every hidden layer"
        return f"of layer {layer} (params[{layer - 1}])"
    if part.name == "mlp_backward":
        if layer is None:
            return ""
        return "of the hidden layer (W1, b1)" if layer == 1 else "of the output layer (W2, b2)"
    return ""


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def edit_message(part: PartSpec, edit: Edit, activation: str,
                 input_name: str) -> tuple[str, str, str]:
    """Return ``(key, title, template)`` of one pass edit."""
    where = layer_phrase(part, edit.layer)
    if edit.kind == "deriv":
        return _derivative_message(edit, activation, where)
    if edit.kind in ("inner", "outer"):
        return chain_factor_message(edit)
    if edit.kind == "input":
        return _input_message(edit, input_name, where)
    return _signal_message(part, edit)


def _derivative_message(edit: Edit, activation: str, where: str) -> tuple[str, str, str]:
    """``(key, title, template)`` of an edited activation derivative."""
    formula = DERIVATIVES.get(activation, "f'(z)")
    act = activation or "activation"
    step = _join(f"in {{part}}, the step back through the {act}", where)
    if edit.op == "missing":
        return ("activation_derivative_missing", "Activation derivative missing",
                f"Probably: {step} leaves out the factor f'(z) = {formula}: the error signal of "
                f"the pre-activation is z_bar = h_bar * f'(z), not h_bar. This explains your "
                "wrong {blocks}.")
    if edit.op == "replace" and edit.quantity == "f'(h)":
        return ("derivative_on_activation", "Activation derivative evaluated on the activation",
                f"Probably: {step} evaluates f' at the activation h = f(z) instead of at the "
                f"pre-activation z: f'(z) = {formula} is already written in terms of h, so do "
                "not apply f again. This explains your wrong {blocks}.")
    if edit.op == "replace" and edit.quantity in ("z (1 - z)", "1 - z^2"):
        return ("derivative_formula_on_preactivation",
                "Derivative shortcut applied to the pre-activation",
                f"Probably: {step} uses {edit.quantity}: the shortcut f'(z) = {formula} is "
                "written in terms of the activation h = f(z), not the pre-activation z. This "
                "explains your wrong {blocks}.")
    if edit.op == "replace":
        hint = ""
        if activation == "sigmoid" and edit.quantity in ("h", "1 - h"):
            other = "1 - h" if edit.quantity == "h" else "h"
            hint = f" (the factor {other} is missing)"
        return ("derivative_replaced", f"Activation derivative replaced by {edit.quantity}",
                f"Probably: {step} multiplies by {edit.quantity} where f'(z) = {formula} "
                f"belongs{hint}. This explains your wrong {{blocks}}.")
    return ("derivative_extra_factor", f"Extra factor {edit.quantity} on the activation derivative",
            f"Probably: {step} multiplies f'(z) = {formula} by an extra factor "
            f"{edit.quantity}. This explains your wrong {{blocks}}.")


def _input_message(edit: Edit, input_name: str, where: str) -> tuple[str, str, str]:
    """``(key, title, template)`` of an edited input factor of a weight gradient."""
    inp = input_name or "the layer input"
    where_in = f" {where}" if where else ""
    if edit.op == "missing":
        return ("input_factor_missing", "Weight gradient missing its input factor",
                "Probably: your {blocks} leave{s} out the input factor: the gradient of a "
                f"weight is the error signal times the input the weight multiplies ({inp}"
                f"{where_in}), " + ("w_bar = z_bar * x for each example." if inp == "x" else
                                    f"summed over the examples: W_bar = Z_bar^T {inp}."))
    if edit.op == "replace" and edit.quantity.lower().startswith("z"):
        return ("preactivation_as_input", "Pre-activation used as the layer input",
                "Probably: your {blocks} use{s} the pre-activation " + edit.quantity +
                f" where the input{where_in} is the activation {inp} = f({edit.quantity}).")
    return ("input_replaced", f"Weight gradient uses {edit.quantity} as its input",
            "Probably: your {blocks} use{s} " + edit.quantity +
            f" where the input{where_in} is {inp}.")


def _signal_message(part: PartSpec, edit: Edit) -> tuple[str, str, str]:
    """``(key, title, template)`` of an extra factor in the output error signal."""
    signal = SIGNALS.get(part.name, "")
    loss = f"the {part.loss} loss" if part.loss else "this loss"
    if edit.quantity == "y (1 - y)" and part.loss == "cross-entropy":
        return ("sigmoid_derivative_on_softmax", "Extra y (1 - y) factor after softmax + cross-entropy",
                f"Probably: in {{part}}, the output error signal is multiplied by y (1 - y), a "
                f"sigmoid derivative: {signal}. This explains your wrong {{blocks}}.")
    return ("error_signal_extra_factor", f"Extra factor {edit.quantity} in the output error signal",
            f"Probably: in {{part}}, the output error signal carries an extra factor {edit.quantity}. "
            f"For {loss}, {signal}. This explains your wrong {{blocks}}.")


#: The chain-rule factors of multivariate_dfdt: (kind, layer) -> (what it is, its value).
CHAIN_FACTORS = {
    ("inner", 1): ("the inner derivative of the exponent xy", "d(xy)/dx = y", "y",
                   "f_x = d exp(xy)/dx = y exp(xy)"),
    ("inner", 2): ("the inner derivative of the exponent xy", "d(xy)/dy = x", "x",
                   "f_y = 1 + d exp(xy)/dy = 1 + x exp(xy)"),
    ("outer", 1): ("the derivative of the path x(t) = cos t", "dx/dt = -sin t", "-sin t",
                   "the term f_x dx/dt has dx/dt = -sin t"),
    ("outer", 2): ("the derivative of the path y(t) = t^2", "dy/dt = 2 t", "2 t",
                   "the term f_y dy/dt has dy/dt = 2 t"),
}


def chain_factor_message(edit: Edit) -> tuple[str, str, str]:
    """``(key, title, template)`` of an edited chain-rule factor of ``multivariate_dfdt``."""
    layers = [edit.layer] if edit.layer is not None else [1, 2]
    facts = [CHAIN_FACTORS[(edit.kind, layer)] for layer in layers]
    what = facts[0][0]
    if len(facts) > 1:
        what = "both inner derivatives of the exponent xy" if edit.kind == "inner" else \
            "the derivatives of both paths"
    value = " and ".join(f[1] for f in facts)
    formula = "; ".join(f[3] for f in facts)
    if edit.op == "missing":
        key = "inner_derivative_missing" if edit.kind == "inner" else "outer_derivative_missing"
        title = "Inner derivative missing" if edit.kind == "inner" else "Path derivative missing"
        return (key, title,
                f"Probably: your {{blocks}} leave{{s}} out {what}, {value}: the chain rule "
                f"multiplies by the derivative of every inner function, so {formula}.")
    return ("chain_factor_replaced", f"Chain-rule factor {edit.quantity} instead of {facts[0][2]}",
            f"Probably: your {{blocks}} use{{s}} {edit.quantity} where {what} is {value}: "
            f"{formula}.")


SCALE_TEXT = {
    "times_two": ("Factor 2", "equal{s} twice the correct {what}: check the factors in front of "
                  "the loss and of each derivative, {two_example}"),
    "times_half": ("Factor 1/2", "equal{s} half the correct {what}: check the factors in front "
                   "of the loss and of each derivative, {half_example}"),
    "sign_flipped": ("Sign flipped", "{has} the opposite sign of the correct {what}: check the "
                     "sign of the error signal ({signal}) and of every derivative on the way"),
    "times_batch_size": ("Sum instead of mean over the batch (factor N)",
                         "equal{s} the correct {what} times N, the batch size (seen for N = "
                         "{sizes}): the loss is a mean over the batch, so each example's share "
                         "carries 1/N"),
    "divided_by_batch_size": ("Divided by the batch size twice (factor 1/N)",
                              "equal{s} the correct {what} divided by N, the batch size (seen "
                              "for N = {sizes}): the 1/N of the mean is probably applied twice"),
    "times_classes": ("Factor K (summed over the K classes or outputs)",
                      "equal{s} the correct {what} times {k_times}"),
    "divided_by_classes": ("Factor 1/K (mean over the K classes or outputs)",
                           "equal{s} the correct {what} divided by {k_divided}"),
    "constant_factor": ("Constant factor", "equal{s} the correct {what} times {label} on every "
                        "input: a constant factor in front that does not belong there (a "
                        "learning rate, a stray scaling)"),
    "transposed": ("Weight gradient transposed", "{is_} the transpose of the correct gradient. A "
                   "gradient has the shape of its parameter: W maps N_(l-1) inputs to N_l "
                   "outputs, so dW is (N_l, N_(l-1)), the error signal of the outputs (as rows) "
                   "times the inputs"),
}


def explanation_diagnoses(part: PartSpec, expl: Explanation, cases: list,
                          make) -> list[Diagnosis]:
    """Turn a fingerprint explanation into diagnoses (one per mistake), best first.

    ``make(key, title, template, blocks, extra)`` builds and renders a Diagnosis (the matcher's).
    """
    out: list[Diagnosis] = []
    activation, inputs = _site_facts(part, cases[0]) if expl.edits else ("", {})
    for edit in expl.edits:
        layer = edit.layer if edit.layer is not None else 0
        key, title, template = edit_message(part, edit, activation,
                                            inputs.get(layer, inputs.get(1, "")))
        blocks = [b for b in expl.changed[edit]]
        out.append(make(key, title, template, blocks, {"edit": _edit_label(edit)}))
    groups: dict[tuple, list[str]] = {}
    for name, fit in expl.fits.items():
        if fit.how != "exact":
            groups.setdefault((fit.keys, fit.label), []).append(name)
    for (keys, label), blocks in groups.items():
        for key in keys:
            title, text = SCALE_TEXT[key]
            if key == "constant_factor":
                title = f"Constant factor {label}"
            verb = "your {blocks} " + text
            out.append(make(key, title, "Probably: " + verb.replace("{label}", label) + ".",
                            blocks, {"factor": label}))
    return out


def _edit_label(edit: Edit) -> str:
    layer = "all" if edit.layer is None else str(edit.layer)
    return f"{edit.kind}/{layer}/{edit.op}/{edit.quantity}"


def _site_facts(part: PartSpec, case) -> tuple[str, dict[int, str]]:
    """The hidden activation and the input name of each layer, read off the correct pass."""
    sites = []
    part.trace(case.args, lambda site: sites.append(site) or site.value)
    activation = next((s.activation for s in sites if s.kind == "deriv"), "")
    inputs = {s.layer: s.input_name for s in sites if s.kind == "input"}
    return activation, inputs
