"""Busy loop at import time that ignores every catchable signal (SIGTERM, SIGXCPU, SIGINT...)."""
import signal

for sig in signal.valid_signals():
    try:
        signal.signal(sig, signal.SIG_IGN)
    except (OSError, ValueError, RuntimeError):
        pass

while True:
    pass
