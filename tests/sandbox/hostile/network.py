"""Connect to the host over TCP and UDP on 127.0.0.1 (the test listens on PORT) and resolve DNS."""
import socket

PORT = 0  # replaced by the test with the port it listens on


def logistic_ls_loss(w, b, x, t):
    results = []
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=2) as s:
            s.sendall(b"stolen secrets")
        results.append("tcp:connected")
    except OSError as exc:
        results.append(f"tcp:{type(exc).__name__}")
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"stolen secrets", ("127.0.0.1", PORT))
        results.append("udp:sent")
    except OSError as exc:
        results.append(f"udp:{type(exc).__name__}")
    try:
        socket.getaddrinfo("pypi.org", 443)
        results.append("dns:resolved")
    except OSError as exc:
        results.append(f"dns:{type(exc).__name__}")
    raise RuntimeError(f"NET={results!r}")
