"""Memory bomb inside a graded function: allocate (and touch) memory without end."""
import numpy as np

hoard = []


def logistic_ls_loss(w, b, x, t):
    while True:
        hoard.append(np.ones(1 << 20))  # 8 MiB, touched
