"""Misconceptions diagnosed for the ``chain_rule`` assignment (issue 6).

Trusted grader code, loaded by ``grader.diagnosis.registry``; the part specs (probes, block
names, models of mistakes, traced passes) are in ``diagnosis.py`` next to it. Each entry is a
named model of a common mistake (see ``grader/diagnosis/library.py`` and ``docs/diagnosis.md``);
to add one, write a ``Misconception`` whose ``transform`` computes what a student with that
mistake returns, and list it under the function it concerns. Order is priority on ties.
"""
from pathlib import Path

from grader.diagnosis import library as lib
from grader.diagnosis.registry import assignment_file_module

diagnosis = assignment_file_module(Path(__file__).parent, "diagnosis")

PARTS = diagnosis.parts()

_SMALL_FACTORS = [lib.constant_factor(k) for k in ("times_two", "times_half", "sign_flipped")]
_ALL_FACTORS = [lib.constant_factor(k) for k in
                ("times_batch_size", "divided_by_batch_size", "times_two", "times_half", "sign_flipped")]
_SOFTMAX = [lib.softmax_normalisation("columns"), lib.softmax_normalisation("batch"),
            lib.softmax_no_max_shift(), lib.log_of_underflowed_softmax(),
            lib.probability_clipped_in_log()]

MISCONCEPTIONS = {
    "logistic_ls_loss": [*_SMALL_FACTORS, lib.reduced_over_batch()],
    "logistic_ls_grad": [
        lib.activation_derivative("missing"),
        lib.activation_derivative("on_activation"),
        lib.activation_derivative("formula_on_preactivation"),
        *_SMALL_FACTORS,
        lib.reduced_over_batch(),
    ],
    "multivariate_dfdt": [lib.chain_rule_missing_path(), lib.partial_derivative_slip(), *_SMALL_FACTORS],
    "softmax_regression_loss": [*_SOFTMAX, lib.label_indexing_all_rows(), *_ALL_FACTORS,
                                lib.mean_over_n_minus_1(), lib.right_for_single_example()],
    "softmax_regression_grad": [
        *_SOFTMAX,
        lib.bias_not_summed(),
        lib.bias_summed_all_axes(),
        lib.bias_summed_wrong_axis(),
        lib.transposed(applies=lib.is_weight),
        *_ALL_FACTORS,
        lib.mean_over_n_minus_1(),
        lib.right_for_single_example(),
    ],
}
