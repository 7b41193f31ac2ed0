"""Correct answers, but the first call leaves a busy thread and a double-forked daemon behind."""
import os
import threading

# @honest

_honest = logistic_ls_loss  # noqa: F821  (defined by the spliced honest code)


def _spin():
    while True:
        pass


def _daemonize():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            for fd in range(0, 64):  # keep fd 4 (the reply pipe) open to hold the host
                if fd != 4:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            _spin()
        os._exit(0)


_left_behind = []


def logistic_ls_loss(w, b, x, t):
    if not _left_behind:
        threading.Thread(target=_spin, daemon=True).start()
        _daemonize()
        _left_behind.append(True)
    return _honest(w, b, x, t)
