"""Issue 10, class 8: the sandbox hides host facts under /proc and refuses AF_VSOCK sockets.

Boot parameters, boot id, load, memory and pressure stall figures tell a submission about the
machine and its other tenants (a side channel between students graded at the same time); vsock
is not network-namespaced and would reach a hypervisor's host.
"""
from __future__ import annotations

import errno

from grader.engine.protocol import decode_message, encode_message
from grader.sandbox.command import MASKED_PROC_FILES, masked_proc_files

from .test_launcher import FAST, hello

PROBE = b'''
import os, socket

def facts(paths):
    out = {}
    for p in paths:
        try:
            with open(p, "rb") as f:
                out[p] = len(f.read())
        except OSError as exc:
            out[p] = -exc.errno
    return out

def vsock():
    try:
        s = socket.socket(40, socket.SOCK_STREAM)  # AF_VSOCK
    except OSError as exc:
        return exc.errno
    s.close()
    return 0

def unix_socket():
    a, b = socket.socketpair()
    a.sendall(b"x")
    return b.recv(1) == b"x"
'''


def call(handle, fn, *args):
    handle.send(encode_message({"op": "call", "fn": fn, "args": list(args)}), 5.0)
    return decode_message(handle.recv(10.0))["values"][0]


def test_host_facts_under_proc_read_nothing(launcher):
    present = masked_proc_files()
    assert {"/proc/cmdline", "/proc/sys/kernel/random/boot_id", "/proc/loadavg",
            "/proc/meminfo"} <= set(present)
    assert set(present) <= set(MASKED_PROC_FILES)
    handle = launcher.start(PROBE, FAST)
    try:
        hello(handle)
        sizes = call(handle, "facts", present + ["/proc/self/status"])
    finally:
        handle.kill()
    assert sizes.pop("/proc/self/status") > 0  # /proc itself still works
    # /dev/null bound over them: empty, or refused (a device node on a nodev mount)
    assert sizes and all(size in (0, -errno.EACCES) for size in sizes.values()), sizes


def test_af_vsock_is_refused_and_unix_sockets_still_work(launcher):
    handle = launcher.start(PROBE, FAST)
    try:
        hello(handle)
        assert call(handle, "vsock") == errno.EAFNOSUPPORT
        assert call(handle, "unix_socket") is True
    finally:
        handle.kill()
