"""Try to read the host's secrets, the grader's code, hidden tests and the reference solution.

Each graded function reports what it could read in the message of the exception it raises, so
the test can check that nothing was readable. If the reference solution were readable it would
be used to answer, so a successful attack would also show up as points.
"""
import os

TARGETS = [
    "/etc/passwd", "/etc/shadow", "/root/.bashrc", "/proc/1/root/etc/passwd",
    "/work/main/reference_solutions/chain_rule.py", "/work/main/assignments/chain_rule/tests.py",
    "/work/main/grader/engine/engine.py", "/work/main/pyproject.toml", "/var/run/postgresql",
    "/run/redis", "/home", "/sys/fs/cgroup", "/var/lib/postgresql",
]


def _everything():
    """Every path visible in the sandbox, /proc and /sys excepted."""
    for top in os.listdir("/"):
        if top in ("proc", "sys"):
            continue
        for folder, dirs, files in os.walk("/" + top):
            yield folder
            for name in files:
                yield os.path.join(folder, name)


def _readable(candidates):
    found = []
    for path in candidates:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                with open(path, "rb") as f:
                    f.read(1)
            found.append(path)
        except OSError:
            pass
    return found


def logistic_ls_loss(w, b, x, t):
    suspects = [p for p in _everything() if p.endswith(
        ("reference_solutions", "tests.py", "manifest.toml", "chain_rule.py", ".env", ".toml"))]
    for path in _readable(suspects):
        if path.endswith("reference_solutions/chain_rule.py"):
            ns = {}
            exec(open(path).read(), ns)
            return ns["logistic_ls_loss"](w, b, x, t)
    raise RuntimeError(f"SECRETS={_readable(TARGETS)!r} SUSPECTS={_readable(suspects)!r} "
                       f"TOP={sorted(os.listdir('/'))!r}")


def logistic_ls_grad(w, b, x, t):
    try:
        import grader  # noqa: F401  (the grading package must not be importable)
        where = "importable"
    except ImportError:
        where = "absent"
    raise RuntimeError(f"ENV={sorted(os.environ)!r} GRADER={where}")
