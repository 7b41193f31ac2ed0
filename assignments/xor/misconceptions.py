"""Diagnosis of the ``xor`` assignment (issue 13).

Trusted grader code, loaded by ``grader.diagnosis.registry``. The XOR constructions and
``train_xor`` have many correct answers, so they are diagnosed by evaluating the returned network
(what truth table it computes, which unit never fires, which input sits on a boundary, how the
trained networks of a few seeds look), see ``diagnosis.py`` and ``training.py`` next to this
file. ``xor_features`` has one correct value; its diagnoser names a third feature that is not
x1 * x2.
"""
from pathlib import Path

from grader.diagnosis.registry import assignment_file_module

_HERE = Path(__file__).parent

PARTS = (assignment_file_module(_HERE, "diagnosis").parts()
         + assignment_file_module(_HERE, "training").parts())

MISCONCEPTIONS: dict = {}
