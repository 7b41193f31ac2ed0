"""The standard misconceptions of lecture 2, as builders an assignment registers.

Each builder returns a :class:`~grader.diagnosis.model.Misconception`. Generic ones transform the
correct blocks (a constant factor, a transpose, an unsummed bias); specific ones re-run the
part's model of mistakes with a knob set (``numerics.py``, ``assignments/<slug>/diagnosis.py``); pattern ones look at how the error depends on
the inputs (batch size, layer). ``assignments/<slug>/misconceptions.py`` picks the ones that
apply to its functions; an instructor adds a new one there the same way.
"""
from __future__ import annotations

import re

import numpy as np

from grader.diagnosis import compare
from grader.diagnosis.model import Case, Misconception, Variants

_LAYER = re.compile(r"^([A-Za-z]+)(\d+)$")

#: Constant factors: key -> (title, factor(case), wording). N is the batch size of each input.
FACTORS = {
    "times_batch_size": ("Sum instead of mean over the batch (factor N)", lambda c: float(c.n),
                         "equal{s} the correct {what} times N, the batch size (seen for N = {sizes}): "
                         "the loss is a mean over the batch, so each example's share carries 1/N"),
    "divided_by_batch_size": ("Divided by the batch size twice (factor 1/N)", lambda c: 1.0 / c.n,
                              "equal{s} the correct {what} divided by N, the batch size (seen for "
                              "N = {sizes}): the 1/N of the mean is probably applied twice"),
    "times_two": ("Factor 2 (the 1/2 of the squared error dropped)", lambda c: 2.0,
                  "equal{s} twice the correct {what}: check the factors in front of the loss and "
                  "of each derivative, {two_example}"),
    "times_half": ("Factor 1/2 (an extra 1/2)", lambda c: 0.5,
                   "equal{s} half the correct {what}: check the factors in front of the loss and "
                   "of each derivative, {half_example}"),
    "sign_flipped": ("Sign flipped", lambda c: -1.0,
                     "equal{s} the correct {what} with the opposite sign: check the sign of the error "
                     "signal ({signal}) and of every derivative on the way"),
}


def constant_factor(key: str, applies=lambda name: True) -> Misconception:
    """Return the misconception "output = correct output times a constant" named ``key``.

    ``key`` is one of :data:`FACTORS` (N, 1/N, 2, 1/2, -1). Block scope: the factor may sit on one
    block only (e.g. dW2). Several inputs of different batch size tell N from a fixed factor.
    """
    title, factor, wording = FACTORS[key]

    def transform(case: Case):
        scale = factor(case)
        return {name: value * scale for name, value in case.reference.items()}

    return Misconception(key=key, title=title, transform=transform, applies=applies,
                         message="Probably: your {blocks} " + wording + ".")


def transposed(applies=lambda name: True) -> Misconception:
    """Return "gradient of a weight matrix returned transposed" (shape (N_{l-1}, N_l)).

    The gradient of W (N_l, N_{l-1}) has W's shape: W-bar = Z-bar^T H_{l-1} with the batch
    version of lecture 2's W-bar = z-bar h^T.
    """
    def transform(case: Case):
        return {name: value.T for name, value in case.reference.items() if value.ndim == 2}

    return Misconception(
        key="transposed", title="Weight gradient transposed", transform=transform, applies=applies,
        message="Probably: your {blocks} {is_} the transpose of the correct gradient. A gradient has the "
                "shape of its parameter: W maps N_(l-1) inputs to N_l outputs, so dW is "
                "(N_l, N_(l-1)), the error signal of the outputs (as rows) times the inputs.")


def bias_not_summed() -> Misconception:
    """Return "bias gradient left per example (N, n_out) instead of summed over the batch"."""
    def transform(case: Case):
        n = float(case.n or 1)
        return Variants({
            "per example, divided by N": dict(case.signals),
            "per example": {name: s * n for name, s in case.signals.items()},
        })

    return Misconception(
        key="bias_not_summed", title="Bias gradient not summed over the batch", transform=transform,
        message="Probably: your {blocks} {is_} the error signal of each example ({variant}) instead of "
                "its sum over the batch. The bias is shared by every example, so its gradient adds "
                "up the per-example error signals: one number per output unit.")


def bias_summed_all_axes() -> Misconception:
    """Return "bias gradient summed over every axis (a scalar) instead of over the batch only"."""
    def transform(case: Case):
        n = float(case.n or 1)
        return Variants({
            "a single number": {name: np.asarray(s.sum()) for name, s in case.signals.items()},
            "a single number, without the 1/N": {name: np.asarray(s.sum() * n)
                                                 for name, s in case.signals.items()},
        })

    return Misconception(
        key="bias_summed_all_axes", title="Bias gradient summed over every axis",
        transform=transform,
        message="Probably: your {blocks} {is_} {variant}: the error signals were summed over the "
                "output units too. Sum over the batch axis only (axis=0), keeping one entry per unit.")


def bias_summed_wrong_axis() -> Misconception:
    """Return "bias gradient summed over the output units (axis 1) instead of the batch"."""
    def transform(case: Case):
        n = float(case.n or 1)
        return Variants({
            "divided by N": {name: s.sum(axis=1) for name, s in case.signals.items()},
            "without the 1/N": {name: s.sum(axis=1) * n for name, s in case.signals.items()},
        })

    return Misconception(
        key="bias_summed_wrong_axis", title="Bias gradient summed over the wrong axis",
        transform=transform,
        message="Probably: your {blocks} {is_} the error signals summed over the output units "
                "(one number per example, axis=1) instead of over the batch (axis=0, one number "
                "per unit).")


DERIV_TEXT = {
    "missing": ("activation_derivative_missing", "Activation derivative missing",
                "the step through the activation leaves out the factor f'(z): the error signal "
                "of the pre-activation is z-bar = h-bar * f'(z), not h-bar"),
    "on_activation": ("derivative_on_activation", "Activation derivative evaluated on the activation",
                      "f' is evaluated on the activation h = f(z) instead of on the pre-activation "
                      "z, e.g. sigma(h)(1 - sigma(h)) where sigma'(z) = h(1 - h) is meant"),
    "formula_on_preactivation": ("derivative_formula_on_preactivation",
                                 "Derivative shortcut applied to the pre-activation",
                                 "the shortcut written in terms of the activation (h(1 - h) for "
                                 "the sigmoid, 1 - h^2 for tanh) is applied to the pre-activation "
                                 "z, e.g. 1 - z^2 instead of 1 - tanh(z)^2"),
}


def activation_derivative(mode: str) -> Misconception:
    """Return the misconception of an activation derivative taken as ``mode`` (numerics.DERIV_MODES)."""
    key, title, text = DERIV_TEXT[mode]
    return Misconception(
        key=key, title=title, scope="whole",
        transform=lambda case: case.model(deriv=mode),
        message="Probably: in your backward pass " + text + ". This explains your wrong {blocks}.")


SOFTMAX_TEXT = {
    "columns": ("softmax_wrong_axis", "Softmax normalised over the wrong axis",
                "your softmax is normalised down each column (over the examples of the batch) "
                "instead of along each row: every example's K probabilities must sum to 1, so sum "
                "over axis=1"),
    "batch": ("softmax_whole_batch", "Softmax normalised over the whole batch",
              "your softmax divides by the sum over the whole batch instead of per example: "
              "sum over axis=1 with keepdims=True"),
}


def softmax_normalisation(mode: str) -> Misconception:
    """Return the misconception of softmax normalised as ``mode`` ("columns" or "batch")."""
    key, title, text = SOFTMAX_TEXT[mode]

    def transform(case: Case):
        return Variants({"shifted by the same max": case.model(softmax_mode=mode),
                         "each row shifted by its own max": case.model(softmax_mode=f"{mode}_rowshift")})

    return Misconception(key=key, title=title, scope="whole", transform=transform,
                         message="Probably: " + text + ". This explains your wrong {blocks}.")


def softmax_no_max_shift() -> Misconception:
    """Return "softmax without the max shift": finite for small logits, inf/NaN for large ones.

    softmax(z) = softmax(z - max z) (the shift cancels), and exp of a logit near 1000 overflows.
    """
    def transform(case: Case):
        divided = case.model(softmax_mode="unshifted")
        lse = case.model(softmax_mode="lse_unshifted")
        variants = {"exp, then divide": divided, "log-sum-exp without the shift": lse,
                    "exp of the logits shifted by the batch's largest logit, not each row's": case.model(softmax_mode="global_shift")}
        if "loss" in lse and len(lse) > 1:
            # the common pair (real code: a loss -z_y + log sum exp(z) and a gradient from
            # exp(z) / sum exp(z), neither shifted): the loss of one form, the gradients of the other
            variants["log-sum-exp loss, exp-then-divide gradient"] = {**divided, "loss": lse["loss"]}
        return Variants(variants)

    return Misconception(
        key="softmax_no_max_shift", title="Softmax overflows (no max shift)", scope="whole",
        transform=transform, skip_tags=frozenset(),
        loose=True,
        message="Probably: your {blocks}: right for small logits, wrong (inf, NaN or zeros) for "
                "large ones (logits near 1000): exp overflows (or underflows), written as "
                "{variant}. Subtract each row's largest logit before exp (softmax is "
                "unchanged by that shift), or use log-sum-exp for the log-probabilities.")


def chain_rule_missing_path() -> Misconception:
    """Return "only one path of the multivariate chain rule", for df/dt with two paths."""
    return Misconception(
        key="chain_rule_missing_path", title="Multivariate chain rule: a path missing", scope="whole",
        transform=lambda case: Variants({"x": case.model(paths="x"), "y": case.model(paths="y")}),
        message="Probably: your {blocks} keep{s} only the path through {variant}(t). t reaches f "
                "through both x(t) and y(t), so df/dt = (df/dx)(dx/dt) + (df/dy)(dy/dt): add the "
                "other term.")


def partial_derivative_slip() -> Misconception:
    """Return "one partial derivative of df/dt wrong" (d cos t/dt = +sin t; df/dy without 1)."""
    return Misconception(
        key="partial_derivative_slip", title="A partial derivative slipped", scope="whole",
        transform=lambda case: Variants({
            "dx/dt = d(cos t)/dt was taken as +sin t instead of -sin t": case.model(slip="cos"),
            "df/dy lost the 1 that comes from the y term of f = y + exp(xy)": case.model(slip="one"),
        }),
        message="Probably: both paths of the chain rule are there, but in your {blocks} "
                "{variant}.")


def reduced_over_batch() -> Misconception:
    """Return "per-example values averaged or summed over the batch" (one number instead of N)."""
    def transform(case: Case):
        return Variants({
            "averaged": {n: np.asarray(v.mean()) for n, v in case.reference.items() if v.ndim == 1},
            "summed": {n: np.asarray(v.sum()) for n, v in case.reference.items() if v.ndim == 1},
        })

    return Misconception(
        key="reduced_over_batch", title="Per-example values reduced over the batch",
        transform=transform,
        message="Probably: your {blocks} {is_} {variant} over the examples. This function returns "
                "one value per example, shape (N,): the gradient of each example's own loss.")


def right_for_single_example() -> Misconception:
    """Return the pattern "right for N = 1, wrong for N > 1" (batch handling)."""
    def detect(cases: list[Case], targets: set[str]):
        singles = [c for c in cases if c.n == 1]
        batches = [c for c in cases if c.n is not None and c.n > 1]
        if len(singles) < 2 or len(batches) < 2:
            return None
        found = {name for name in targets
                 if all(compare.agree(c.student.get(name), c.reference.get(name)) for c in singles)
                 and all(compare.distinct(c.student.get(name), c.reference.get(name)) for c in batches)}
        return (found, "") if found else None

    return Misconception(
        key="right_for_single_example", title="Right for one example, wrong for a batch",
        detect=detect, min_observations=4,
        message="Probably a batch-handling mistake: your {blocks} {is_} right when the batch has one "
                "example and wrong for several (N = {sizes}). Each example contributes its own "
                "outer product of error signal and input; sum those over the batch (Z-bar^T X), "
                "rather than combining batch averages or single rows.")


def first_wrong_layer() -> Misconception:
    """Return the localisation note: deepest layers still right, first wrong layer (deep nets).

    An error in the backward pass propagates toward the input, so the layers above a mistake
    stay right and every layer from it down is wrong.
    """
    def detect(cases: list[Case], targets: set[str]):
        def depth_of(case: Case) -> int:
            return max((int(m.group(2)) for n in case.reference if (m := _LAYER.match(n))), default=0)

        depth = depth_of(cases[0])
        cases = [c for c in cases if depth_of(c) == depth]  # layer numbers mean the same thing
        if depth < 2 or len(cases) < 2:
            return None

        def layer_ok(case: Case, layer: int) -> bool:
            return all(compare.agree(case.student.get(f"{p}{layer}"), case.reference.get(f"{p}{layer}"))
                       for p in ("W", "b"))

        wrong = [layer for layer in range(depth, 0, -1) if not all(layer_ok(c, layer) for c in cases)]
        if not wrong:
            return None
        first = wrong[0]
        if not all(not layer_ok(c, first) for c in cases if c.n != 1):
            return None
        bias_right = all(compare.agree(c.student.get(f"b{first}"), c.reference.get(f"b{first}"))
                         for c in cases)
        if bias_right:
            detail = (f"in layer {first} the bias gradient is right but the weight gradient is "
                      f"wrong (layers above it are right): the error signal reaching layer "
                      f"{first} is fine, so check the weight-gradient formula, the sum over "
                      f"examples of (error signal) x (layer input)^T")
        elif first == depth:
            detail = (f"already the last layer (layer {depth}) is wrong: check the error signal of "
                      "the logits, (softmax(z) - one-hot) / N, and the last layer's gradients")
        else:
            right = f"layer {depth}" if first + 1 == depth else f"layers {first + 1}-{depth}"
            detail = (f"{right} {'is' if first + 1 == depth else 'are'} right, layer {first} is "
                      f"wrong: look at the backward step through the layer-{first} activation and "
                      f"at the layer-{first} gradient formulas")
        blocks = {n for n in targets if (m := _LAYER.match(n)) and int(m.group(2)) <= first}
        return (blocks, detail) if blocks else None

    return Misconception(
        key="first_wrong_layer", title="First wrong layer (localisation)", detect=detect,
        kind="localisation", min_observations=2,
        message="Probably: {detail}. An error in the backward pass travels toward the input, so "
                "the first wrong layer from the output is where to look.")


def is_weight(name: str) -> bool:
    """Tell whether a block name is a weight gradient (``W``, ``dW``, ``W2``, ...)."""
    return bool(re.match(r"^d?W\d*$", name))


#: Epsilons learners put into the log of a cross-entropy (10^-2 ... 10^-16, 10^-20 and the
#: machine epsilons of float64 and float32); the one that explains every probe is named.
LOG_EPSILONS = (*(10.0 ** -k for k in range(2, 17)), 1e-20, float(np.finfo(np.float64).eps),
                float(np.finfo(np.float32).eps))


def probability_clipped_in_log() -> Misconception:
    """Return "the true-class probability clipped or offset by an epsilon before the log".

    -log(p_y + eps), -log(clip(p_y, eps, 1 - eps)) or -log(max(p_y, eps)) instead of log-softmax:
    off by about eps / p_y on ordinary inputs, and capped near -log(eps) once p_y underflows
    (logits near 1000). The gradient of such a loss carries p_y / (p_y + eps) (or is 0 where the
    clip is active); for a function that returns the loss and its gradients the epsilon may sit
    in the loss only. Uses every probe, the large-logit ones too.
    """
    def transform(case: Case):
        memo = case.__dict__.setdefault("_probability_clipping", {})
        if "variants" not in memo:
            memo["variants"] = (Variants() if _refutes_every_epsilon(case)
                                else _not_refuted(case, _clipping_variants(case)))
        return memo["variants"]

    def _clipping_variants(case: Case) -> Variants:
        has_loss = "loss" in case.reference
        has_grads = any(name != "loss" for name in case.reference)
        variants = {}
        for eps in LOG_EPSILONS:
            e = f"{eps:.3g}"
            forms = [("plus_eps", f"log(p + {e})"), ("clip", f"log(clip(p, {e}, 1 - {e}))"),
                     ("floor", f"log(max(p, {e}))")]
            if has_grads and not has_loss:
                forms.append(("clip_masked", f"log(clip(p, {e}, 1 - {e})) with the clip's zero gradient"))
            for form, text in forms:
                if has_loss and has_grads and form != "plus_eps":
                    blocks = {"loss": _model_loss(case, ce_form=form, eps=eps)}
                else:
                    blocks = case.model(ce_form=form, eps=eps)
                if has_loss and has_grads:
                    # the common forms: the epsilon in the loss only (the gradient written as
                    # softmax - one-hot), or log(p + eps) differentiated by hand through softmax
                    if form == "plus_eps":
                        variants[f"{text} in the loss and its gradient"] = blocks
                    if form != "clip_masked":
                        variants[f"{text} in the loss"] = {**case.reference, "loss": blocks["loss"]}
                else:
                    variants[text] = blocks
        return Variants(variants)

    return Misconception(
        key="probability_clipping", title="Probability clipped or offset by an epsilon in the log",
        scope="whole", transform=transform, skip_tags=frozenset(),
        message="Probably: your {blocks} take{s} the log of p, the softmax probability of the "
                "true class, with an epsilon: {variant} (or the same epsilon in another form, "
                "log(p + eps), clip or max). The epsilon shifts every example's loss by about epsilon / p and caps the "
                "loss of a confident wrong prediction near -log(epsilon). Take the log-probabilities "
                "from log-softmax, z_y - max(z) - log sum exp(z - max(z)): finite and exact, no "
                "epsilon needed.")


def _refutes_every_epsilon(case: Case) -> bool:
    """Tell whether this input rules out every epsilon form at once, without computing them.

    Every form is finite (its log is at least log(eps)), so an input on which the student's
    return has a non-finite entry is not tried (an epsilon together with an overflow elsewhere is
    not named); and each form lowers the loss except the upper clip at 1 - eps, which raises each
    example's loss by at most -log(1 - eps) < 0.011, so a student's loss above the correct one by
    more than that refutes them all.
    """
    for name, value in case.student.items():
        if value is not None and not np.isfinite(value).all():
            return True
    student, correct = case.student.get("loss"), case.reference.get("loss")
    if student is None or correct is None or np.shape(student) != np.shape(correct):
        return False
    return bool(np.all(np.isfinite(correct)) and float(np.sum(student)) > float(np.sum(correct)) + 0.011
                and not compare.agree(student, correct))


def _model_loss(case: Case, **knobs) -> np.ndarray:
    """The ``loss`` block of the part's model with ``knobs``, skipping the backward pass when the
    part's model takes ``loss_only`` (a function returning the loss and its gradients)."""
    try:
        return case.model(loss_only=True, **knobs)["loss"]
    except TypeError:
        return case.model(**knobs)["loss"]


def _not_refuted(case: Case, variants: Variants) -> Variants:
    """Keep the variants of a whole-scope model this input does not already refute.

    A variant that changes a block on this input (distinct from the correct value) where the
    student's block disagrees with it can never be claimed (a whole-scope model must reproduce
    every block it changes, on every input), so it is dropped here; this keeps a model with many
    written forms (one per epsilon) cheap to match. The claim rule itself is unchanged.
    """
    def refuted(name: str, value) -> bool:
        correct = case.reference.get(name)
        return (value is not correct and not compare.agree(case.student.get(name), value)
                and compare.distinct(value, correct))

    kept = Variants()
    for label, blocks in variants.items():
        if not any(refuted(name, value) for name, value in blocks.items()):
            kept[label] = blocks
    return kept


def log_of_underflowed_softmax() -> Misconception:
    """Return "log of the softmax probabilities": -inf once a true-class probability underflows.

    log(softmax(z)_y) equals z_y - log-sum-exp(z) until softmax(z)_y underflows to 0 (a logit gap
    above about 745): then the loss is inf (or huge). Right for logits near 800 of small spread
    (no underflow), which tells it from a missing max shift (overflow there).
    """
    return Misconception(
        key="log_of_softmax", title="Log of an underflowed softmax", scope="whole",
        transform=lambda case: Variants({
            "log of the true-class probability": case.model(ce_form="of_softmax"),
            "sum of T * log(softmax) over every class": case.model(ce_form="of_softmax_all")}),
        skip_tags=frozenset(), loose=True,
        message="Probably: your {blocks}: the log is taken of the softmax probabilities, "
                "log(softmax(z)), which underflow to 0 for a confident wrong prediction (a logit "
                "gap above about 745), so the loss becomes inf (NaN in a sum of T * log(softmax), "
                "0 * -inf). Compute the log-probabilities directly with log-sum-exp: "
                "log softmax(z) = z - max(z) - log sum exp(z - max(z)).")


def label_indexing_all_rows() -> Misconception:
    """Return "z[:, y] instead of z[range(N), y]": every row picked at every label (N x N).

    Right for one example (the two coincide for N = 1), wrong for a batch; the loss only.
    """
    return Misconception(
        key="label_indexing_all_rows", title="True-class entries picked as z[:, y]", scope="whole",
        transform=lambda case: Variants({
            "the shifted logits z[:, y]": case.model(ce_form="all_labels_logits"),
            "the logits z[:, y]": case.model(ce_form="all_labels_raw_logits"),
            "the log-probabilities logp[:, y]": case.model(ce_form="all_labels_logp"),
        }),
        message="Probably: your {blocks} pick{s} the true-class entries as {variant}, which takes "
                "every example's row at every example's label (an N x N selection), instead of "
                "one entry per row, z[np.arange(N), y] (the correct class of each example). The two "
                "agree only for a batch of one example.")


def mean_over_n_minus_1() -> Misconception:
    """Return "a mean over the batch taken as sum / (N - 1)": the correct value times N / (N - 1).

    Block scope; N = 1 probes are left out (there the division is by zero).
    """
    def transform(case: Case):
        with np.errstate(all="ignore"):
            factor = np.float64(case.n) / np.float64(case.n - 1) if case.n else np.nan
            return {name: value * factor for name, value in case.reference.items()}

    return Misconception(
        key="divided_by_n_minus_1", title="Mean over the batch divided by N - 1", transform=transform,
        skip_tags=frozenset({"large", "single"}),
        message="Probably: your {blocks} equal{s} the correct {what} times N / (N - 1) (seen for "
                "N = {sizes}): a sum over the batch divided by N - 1 instead of N. The loss is the "
                "mean over the N examples, so divide by N (the N - 1 belongs to the unbiased "
                "variance estimate, not to a mean).")
