"""A small Python process to profile: some threads compute, some sleep, some
wait on a socket. `npm start` watches it with `gilgauge profile`.

Two threads run a pure-Python loop (they take turns holding the GIL), two
sleep, two send a request to a local server that answers after 20 ms and wait
in recv for the reply. Runs for SECONDS (default 60).
"""
import socket
import sys
import threading
import time

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
deadline = time.monotonic() + seconds


def compute():
    while time.monotonic() < deadline:
        total = 0
        for i in range(20000):
            total += i * i


def sleepy():
    while time.monotonic() < deadline:
        time.sleep(0.01)


def slow_server(listener):
    """Answers each 1-byte request after 20 ms, like a slow sensor or service."""

    def serve(conn):
        with conn:
            while conn.recv(1):
                time.sleep(0.02)
                conn.sendall(b"!")

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), name="server", daemon=True).start()


def client(address):
    with socket.create_connection(address) as conn:
        while time.monotonic() < deadline:
            conn.sendall(b"?")
            conn.recv(1)


listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(8)
threading.Thread(target=slow_server, args=(listener,), name="acceptor", daemon=True).start()
workers = [threading.Thread(target=compute, name=f"compute-{i}") for i in range(2)]
workers += [threading.Thread(target=sleepy, name=f"sleep-{i}") for i in range(2)]
workers += [threading.Thread(target=client, args=(listener.getsockname(),), name=f"socket-{i}") for i in range(2)]
for w in workers:
    w.start()
print(f"mixed_threads: pid {threading.get_native_id()} running for {seconds:.0f}s", flush=True)
for w in workers:
    w.join()
