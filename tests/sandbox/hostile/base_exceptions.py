"""Graded functions that leave through SystemExit, os._exit, KeyboardInterrupt, other BaseException."""
import os
import sys


class Escape(BaseException):
    pass


def logistic_ls_loss(w, b, x, t):
    sys.exit(0)


def logistic_ls_grad(w, b, x, t):
    raise KeyboardInterrupt


def multivariate_dfdt(t):
    os._exit(0)


def softmax_regression_loss(W, b, X, T):
    raise Escape("escaped")


def softmax_regression_grad(W, b, X, T):
    raise GeneratorExit
