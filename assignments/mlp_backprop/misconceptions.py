"""Misconceptions diagnosed for the ``mlp_backprop`` assignment (issue 6).

Trusted grader code, loaded by ``grader.diagnosis.registry``. Each entry is a named model of a
common mistake (see ``grader/diagnosis/library.py`` and ``docs/diagnosis.md``); to add one, write
a ``Misconception`` whose ``transform`` computes what a student with that mistake returns, and
list it under the function it concerns. Order is priority on ties.
"""
from grader.diagnosis import library as lib
from grader.diagnosis import parts

PARTS = [
    parts.mlp_forward(),
    parts.mlp_loss(),
    parts.mlp_backward(),
    parts.deep_loss_and_grads(),
]

_FACTORS = [lib.constant_factor(k) for k in
            ("times_batch_size", "divided_by_batch_size", "times_two", "times_half", "sign_flipped")]
_DERIVATIVES = [lib.activation_derivative(m)
                for m in ("missing", "on_activation", "formula_on_preactivation")]
_BIAS = [lib.bias_not_summed(), lib.bias_summed_all_axes()]

MISCONCEPTIONS = {
    "mlp_loss": [*_FACTORS, lib.right_for_single_example()],
    "mlp_backward": [
        *_DERIVATIVES, *_BIAS, lib.transposed(applies=lib.is_weight), *_FACTORS,
        lib.right_for_single_example(),
    ],
    "deep_loss_and_grads": [
        lib.softmax_normalisation("columns"), lib.softmax_normalisation("batch"),
        lib.softmax_no_max_shift(),
        *_DERIVATIVES, *_BIAS, lib.transposed(applies=lib.is_weight), *_FACTORS,
        lib.right_for_single_example(), lib.first_wrong_layer(),
    ],
}
