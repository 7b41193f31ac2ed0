"""Misconceptions diagnosed for the ``mlp_backprop`` assignment (issue 6).

Trusted grader code, loaded by ``grader.diagnosis.registry``; the part specs (probes, block
names, models of mistakes, traced passes) are in ``diagnosis.py`` next to it. Each entry is a
named model of a common mistake (see ``grader/diagnosis/library.py`` and ``docs/diagnosis.md``);
to add one, write a ``Misconception`` whose ``transform`` computes what a student with that
mistake returns, and list it under the function it concerns. Order is priority on ties.
"""
from pathlib import Path

from grader.diagnosis import library as lib
from grader.diagnosis.model import Misconception, Variants
from grader.diagnosis.registry import assignment_file_module

diagnosis = assignment_file_module(Path(__file__).parent, "diagnosis")

PARTS = diagnosis.parts()

_FACTORS = [lib.constant_factor(k) for k in
            ("times_batch_size", "divided_by_batch_size", "times_two", "times_half", "sign_flipped")]
_DERIVATIVES = [lib.activation_derivative(m)
                for m in ("missing", "on_activation", "formula_on_preactivation")]
_BIAS = [lib.bias_not_summed(), lib.bias_summed_all_axes(), lib.bias_summed_wrong_axis()]



def _forward_without_bias(case):
    """What a student who leaves b out of Z = X W^T + b returns (lecture 2): in both layers, or
    in one of them (the hidden layer's b1 or the output layer's b2)."""
    params, X = case.args

    def forward(b1: bool, b2: bool):
        return {"Y": diagnosis.mlp_forward_without_bias(params, X, b1=b1, b2=b2)}

    return Variants({"both biases, b1 and b2,": forward(False, False),
                     "the hidden layer's bias b1": forward(False, True),
                     "the output layer's bias b2": forward(True, False)})


FORWARD_BIAS_MISSING = Misconception(
    key="forward_bias_missing", title="Bias left out of the forward pass", scope="whole",
    transform=_forward_without_bias,
    message="Probably: your {blocks} {is_} computed without {variant}. Each layer adds its bias "
            "after the weights, Z = X W^T + b (b broadcast over the rows of the batch).")

MISCONCEPTIONS = {
    "mlp_forward": [FORWARD_BIAS_MISSING],
    "mlp_loss": [*_FACTORS, lib.mean_over_n_minus_1(), lib.right_for_single_example()],
    "mlp_backward": [
        *_DERIVATIVES, *_BIAS, lib.transposed(applies=lib.is_weight), *_FACTORS,
        lib.mean_over_n_minus_1(), lib.right_for_single_example(),
    ],
    "deep_loss_and_grads": [
        lib.softmax_normalisation("columns"), lib.softmax_normalisation("batch"),
        lib.log_of_underflowed_softmax(), lib.softmax_no_max_shift(),
        lib.probability_clipped_in_log(), lib.label_indexing_all_rows(),
        *_DERIVATIVES, *_BIAS, lib.transposed(applies=lib.is_weight), *_FACTORS,
        lib.mean_over_n_minus_1(), lib.right_for_single_example(), lib.first_wrong_layer(),
    ],
}
