"""A seccomp filter (classic BPF, built here without libseccomp) for bubblewrap's ``--seccomp``.

Defence in depth on top of namespaces and dropped capabilities: system calls a numpy homework
never needs and that widen the kernel's attack surface fail with ``EPERM`` (``clone3`` with
``ENOSYS``, so that glibc falls back to ``clone``). Any non-x86-64 system call ABI (x32, i386)
kills the process. On other architectures no filter is installed (the namespaces still hold).
"""
from __future__ import annotations

import errno
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06

# x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl).
BLOCKED_X86_64 = {
    "ptrace": 101, "syslog": 103, "uselib": 134, "personality": 135, "vhangup": 153,
    "pivot_root": 155, "adjtimex": 159, "chroot": 161, "acct": 163, "settimeofday": 164,
    "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169,
    "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173,
    "init_module": 175, "delete_module": 176, "quotactl": 179, "lookup_dcookie": 212,
    "clock_settime": 227, "kexec_load": 246, "add_key": 248, "request_key": 249,
    "keyctl": 250, "unshare": 272, "perf_event_open": 298, "fanotify_init": 300,
    "name_to_handle_at": 303, "open_by_handle_at": 304, "clock_adjtime": 305, "setns": 308,
    "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "finit_module": 313,
    "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_getfd": 438,
    "process_madvise": 440, "mount_setattr": 442,
}
ENOSYS_X86_64 = {"clone3": 435}
SOCKET_X86_64 = 41
AF_VSOCK = 40
#: Offset of the low 32 bits of the first argument in ``struct seccomp_data`` (little endian).
_ARG0_LOW = 16


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def build_filter() -> bytes | None:
    """Return the filter program (``struct sock_filter`` array) for this machine, or ``None``.

    ``None`` on architectures other than x86-64, where no filter is installed. Besides the
    numbers in :data:`BLOCKED_X86_64` it refuses ``socket(AF_VSOCK, ...)`` with
    ``EAFNOSUPPORT``: vsock is not network-namespaced, so inside a VM it would reach the host.
    """
    if platform.machine() not in ("x86_64", "amd64"):
        return None
    rules = [(nr, errno.EPERM) for nr in sorted(BLOCKED_X86_64.values())]
    rules += [(nr, errno.ENOSYS) for nr in sorted(ENOSYS_X86_64.values())]
    n = len(rules)
    # Layout: 0 ld arch; 1 jeq x86_64 else KILL; 2 ld nr; 3 jge x32 -> KILL;
    # 4 jeq socket -> 5 else 7; 5 ld args[0] (low word); 6 jeq AF_VSOCK -> RET vsock else ALLOW;
    # 7..7+n-1 jeq nr -> its RET; 7+n RET ALLOW; 8+n.. one RET per rule; 8+2n RET vsock;
    # 9+2n RET KILL.
    allow_at, vsock_at, kill_at = 7 + n, 8 + 2 * n, 9 + 2 * n
    prog = [
        _insn(_LD_W_ABS, 0, 0, 4),
        _insn(_JEQ_K, 0, kill_at - 1 - 1, AUDIT_ARCH_X86_64),
        _insn(_LD_W_ABS, 0, 0, 0),
        _insn(_JGE_K, kill_at - 3 - 1, 0, X32_SYSCALL_BIT),
        _insn(_JEQ_K, 0, 2, SOCKET_X86_64),
        _insn(_LD_W_ABS, 0, 0, _ARG0_LOW),
        _insn(_JEQ_K, vsock_at - 6 - 1, allow_at - 6 - 1, AF_VSOCK),
    ]
    for i, (nr, _) in enumerate(rules):
        here, target = 7 + i, 8 + n + i
        prog.append(_insn(_JEQ_K, target - here - 1, 0, nr))
    prog.append(_insn(_RET_K, 0, 0, _RET_ALLOW))
    for _, err in rules:
        prog.append(_insn(_RET_K, 0, 0, _RET_ERRNO | err))
    prog.append(_insn(_RET_K, 0, 0, _RET_ERRNO | errno.EAFNOSUPPORT))
    prog.append(_insn(_RET_K, 0, 0, _RET_KILL_PROCESS))
    assert kill_at - 2 <= 255, "too many rules for 8-bit BPF jump offsets"
    assert len(prog) == kill_at + 1
    return b"".join(prog)
