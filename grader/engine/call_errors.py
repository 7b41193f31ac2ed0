"""What the student reads when importing their file or a call to it fails.

The wording of a failed import (syntax error, crash at import), of an error the child reported
for a call (missing function, exception, out of memory...), of a call's CPU limit and of a
timeout. Everything here reads values the child sent: hostile, so only strings and ints of
bounded length are shown, control characters escaped.
"""
from __future__ import annotations

from typing import Any

from grader.engine.errors import StudentCallError
from grader.engine.launch import cpu_limit_text, wall_limit_text

MAX_MESSAGE = 4000
#: The kinds of call error the child may report; any other reply is a protocol error.
ERROR_KINDS = {"missing", "not_implemented", "exception", "unsendable", "mutated", "view",
               "memory", "protocol"}


def printable(text: str) -> str:
    """``text`` with control characters other than newline and tab escaped (no terminal codes)."""
    text = text.replace("\r\n", "\n")
    return "".join(c if c in "\n\t" or c.isprintable() else repr(c)[1:-1] for c in text)


def text_of(x: Any, limit: int = MAX_MESSAGE) -> str:
    """``x`` if the child sent a string (an int is written out), cut to ``limit`` characters;
    anything else (a list, a dict, an array where text belongs) is dropped: ``""``."""
    if isinstance(x, bool) or not isinstance(x, (str, int)):
        return ""
    return x[:limit] if isinstance(x, str) else str(x)[:limit]


def import_error(err: Any) -> str:
    """The message of a failed import from the child's ``hello`` frame's ``error`` field: a
    syntax error with its line, or a crash at import; ``err`` is untrusted (any value)."""
    if not isinstance(err, dict):
        return "your file could not be imported"
    if err.get("kind") == "syntax":
        line = err.get("line")
        line = line if type(line) is int and 0 <= line <= 10**7 else 0
        text = text_of(err.get("text"), 200).strip()
        where = f"line {line}" + (f": {text}" if text else "")
        return (f"Syntax error on {where}\n{text_of(err.get('message'))}\n"
                "Fix this line (and check the lines just before it), then submit again.")
    return ("Your file crashed while being imported, before any test could run:\n"
            f"{text_of(err.get('message'))}\nCode at the top level of your file runs on "
            "import; move experiments into functions or under `if __name__ == \"__main__\":`.")


def is_call_error(msg: dict[str, Any]) -> bool:
    """True when the failed reply ``msg`` carries a readable error (a dict of a known kind)."""
    err = msg.get("error")
    return isinstance(err, dict) and isinstance(err.get("kind"), str) \
        and err["kind"] in ERROR_KINDS


def call_error(fn: str, msg: dict[str, Any], memory_mb: Any) -> StudentCallError:
    """The error of a call to ``fn`` whose reply ``msg`` reported a failure (``ok`` false,
    :func:`is_call_error` true): its ``message`` for visible tests, its ``redacted`` form (no
    exception message) for hidden ones; ``memory_mb``: the memory limit named when it ran out."""
    err = msg["error"]
    kind = err["kind"]
    message = text_of(err.get("message"))
    tb = text_of(err.get("traceback"))
    if kind == "missing":
        message = (f"Your file does not define a function {fn}(...). Check the name and "
                   "the arguments against starter.py.")
    elif kind == "not_implemented":
        message = f"{fn} is not implemented yet (it raises NotImplementedError)."
    elif kind == "memory":
        message = (f"{fn} ran out of memory (limit {memory_mb} MiB); avoid "
                   "building huge intermediate arrays.")
    elif kind == "exception" and tb:
        message = f"{fn} raised an exception. Where it happened in your file:\n{tb}"
    redacted = message
    if kind == "exception":
        exc_type = text_of(err.get("exc_type"), 60)
        exc_type = exc_type if exc_type.isidentifier() else "an exception"
        frames = text_of(err.get("frames"))
        redacted = (f"{fn} raised {exc_type} (its message is not shown for hidden tests)."
                    + (f" Where it happened in your file:\n{frames}" if frames else ""))
    index = msg.get("index")
    if kind != "missing" and type(index) is int and 0 < index < 10**6:
        message += f" (on evaluation {index + 1} of a batch)"
        redacted += f" (on evaluation {index + 1} of a batch)"
    error = StudentCallError(message, kind=kind)
    error.redacted = redacted
    return error


def cpu_text(cpu_limit: float, per_call: float | None, n_evals: int,
             submission_cpu_s: float) -> str:
    """The CPU limit of a call as a timeout message names it: per call (and batch), or what
    was left of the submission's budget (``submission_cpu_s`` seconds) when that capped it."""
    if per_call is not None and cpu_limit >= per_call * n_evals - 1e-9:
        per = "per call" + (f", {n_evals} calls in this batch" if n_evals > 1 else "")
        return cpu_limit_text(per_call, per)
    if per_call is not None:  # capped by what is left of the submission's CPU budget
        return (f"{cpu_limit_text(submission_cpu_s, 'for the whole submission')}"
                f", of which {cpu_limit:.1f} s CPU were left")
    return cpu_limit_text(cpu_limit)


def timeout_error(doing: str, cpu_text: str | None, wall_limit: float) -> StudentCallError:
    """The student's timeout while ``doing``: over its CPU limit ``cpu_text``, or (None) past
    its ``wall_limit`` seconds of real time; the child is lost."""
    if cpu_text is not None:
        hit = f"it used more than its {cpu_text}"
    else:
        hit = (f"it ran past its {wall_limit_text(wall_limit)} of real time "
               "(sleeping and waiting count)")
    return StudentCallError(
        f"Time limit exceeded while {doing}: {hit}. Look for an endless loop, "
        "a sleep, or Python loops where numpy would do.",
        kind="timeout", child_lost=True)
