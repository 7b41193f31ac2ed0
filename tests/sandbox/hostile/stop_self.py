"""Stop itself with SIGSTOP (and SIGTSTP) at import time, hoping to hang the grader."""
import os
import signal

os.kill(os.getpid(), signal.SIGSTOP)
os.kill(os.getpid(), signal.SIGTSTP)
os.kill(0, signal.SIGSTOP)
while True:
    signal.pause()
