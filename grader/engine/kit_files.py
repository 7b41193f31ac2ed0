"""What of an assignment's files a student check kit may hold: visible checks and tests only.

:func:`strip_tests_source` cuts ``tests.py`` down to the visible checks and what they use;
:func:`visible_manifest_text` drops the hidden ``[[tests]]`` tables of ``manifest.toml``.
"""
from __future__ import annotations

import ast
import re
import tomllib

from grader.engine.replay import KitError


def strip_tests_source(source: str, keep: set[str], drop: set[str], *, path: str = "tests.py") -> str:
    """Return ``source`` without the top-level functions/classes that ``keep`` does not reach.

    ``keep``: the visible checks; ``drop``: the hidden checks. Reachability follows every name
    used inside kept definitions and in the module's other top-level statements. Raises
    KitError when a visible check or shared code uses a hidden check.
    """
    tree = ast.parse(source, filename=path)
    defs = {n.name: n for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}

    def names_in(node: ast.AST) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}

    roots = set(keep)
    for node in tree.body:
        if node not in defs.values():
            roots |= names_in(node) & set(defs)
    reached: set[str] = set()
    todo = [r for r in roots if r in defs]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        todo += [n for n in names_in(defs[name]) if n in defs and n not in reached]
    shared = sorted(reached & drop)
    if shared:
        raise KitError(f"{path}: hidden check(s) {', '.join(shared)} are used by visible code; "
                       "move the shared part into a helper function.")
    lines = source.splitlines(keepends=True)
    cut = [False] * len(lines)
    for name, node in defs.items():
        if name not in reached:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            for i in range(start - 1, node.end_lineno or node.lineno):
                cut[i] = True
    text = "".join(line for line, c in zip(lines, cut) if not c)
    return re.sub(r"\n{4,}", "\n\n\n", text)


def visible_manifest_text(text: str) -> str:
    """Return the manifest TOML text without its hidden ``[[tests]]`` tables.

    The file is split at table headers; each ``[[tests]]`` chunk is parsed on its own and kept
    only when its visibility is ``visible``. Comments inside a dropped chunk go with it.
    """
    chunks: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("["):
            chunks.append([])
        chunks[-1].append(line)
    out = []
    for chunk in chunks:
        body = "".join(chunk)
        if chunk and chunk[0].strip() == "[[tests]]":
            entry = tomllib.loads(body)["tests"][0]
            if entry.get("visibility", "visible") != "visible":
                continue
        out.append(body)
    return "".join(out)


__all__ = ["strip_tests_source", "visible_manifest_text"]
