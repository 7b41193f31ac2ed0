"""Write a huge file (inside the sandbox's tmpfs, then anywhere else) from a graded function."""
import os


def logistic_ls_loss(w, b, x, t):
    block = b"x" * (1 << 20)
    for path in ("/tmp/huge.bin", "huge2.bin", "/dev/shm/huge.bin", "/huge.bin"):
        try:
            with open(path, "wb") as f:
                for _ in range(10_000):  # 10 GiB if nothing stops it
                    f.write(block)
        except OSError as exc:
            last = exc
    raise last
