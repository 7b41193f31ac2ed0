"""Return values built to fool a comparison: an ndarray subclass and an object equal to anything,
a huge __repr__, NaN/inf, wrong shapes, object dtype, 0-d arrays."""
import numpy as np


class Agreeable(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(np.shape(self))


class EqualToAll:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __repr__(self):
        return "EqualToAll" * 10_000_000


def logistic_ls_loss(w, b, x, t):
    return np.zeros_like(x).view(Agreeable)


def logistic_ls_grad(w, b, x, t):
    return EqualToAll(), EqualToAll()


def multivariate_dfdt(t):
    return np.full_like(t, np.nan)


def softmax_regression_loss(W, b, X, T):
    return np.array(np.inf)


def softmax_regression_grad(W, b, X, T):
    return np.array([object()] * W.size, dtype=object).reshape(W.shape), np.zeros(1)
