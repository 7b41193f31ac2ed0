"""Infinite loops in graded functions, one pure Python, one in numpy."""
import numpy as np


def logistic_ls_loss(w, b, x, t):
    while True:
        pass


def multivariate_dfdt(t):
    a = np.ones((300, 300))
    while True:
        a = np.tanh(a @ a)
