"""Graded functions that sleep, pause for a signal, or stop themselves with SIGSTOP."""
import os
import signal
import time


def logistic_ls_loss(w, b, x, t):
    time.sleep(10_000)


def logistic_ls_grad(w, b, x, t):
    signal.pause()


def multivariate_dfdt(t):
    os.kill(os.getpid(), signal.SIGSTOP)
