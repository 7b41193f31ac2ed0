"""Helpers for the diagnosis tests: run trusted corpus code in-process on probe inputs."""
from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from bench import diagnosis_corpus as corpus
from grader.diagnosis.model import Diagnosis
from grader.diagnosis.probe import probe_and_diagnose


def in_process_caller(fn: Callable[..., Any]) -> Callable[[list[tuple]], list[Any]]:
    """Return ``call_many`` that calls trusted ``fn`` on copies of each input (None on error)."""
    def call_many(args_list: list[tuple]) -> list[Any]:
        outputs = []
        for args in args_list:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                try:
                    outputs.append(fn(*copy.deepcopy(args)))
                except (ValueError, IndexError, TypeError, FloatingPointError):
                    outputs.append(None)
        return outputs
    return call_many


def diagnose_entry(entry: corpus.Entry) -> dict[str, list[Diagnosis]]:
    """Diagnose every function a corpus entry defines, in-process, from the probe inputs."""
    found = {}
    for name, fn in corpus.functions(entry).items():
        if not name.startswith("_"):
            found[name] = probe_and_diagnose(entry.slug, name, in_process_caller(fn))
    return found


def top_key(found: dict[str, list[Diagnosis]]) -> str | None:
    """Key of the first diagnosis of kind "mistake" (else the first note), or None."""
    flat = [d for ds in found.values() for d in ds]
    mistakes = [d for d in flat if d.kind == "mistake"] or flat
    return mistakes[0].key if mistakes else None
