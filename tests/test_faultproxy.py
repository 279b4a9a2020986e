"""The fault proxy the T37 soak run uses (tests/faultproxy.py): each mode does what it says."""

from __future__ import annotations

import socket
import socketserver
import threading

import pytest

from tests.faultproxy import FaultProxy


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except ConnectionResetError:
            pass  # the proxy resets on purpose


@pytest.fixture
def proxy():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    proxy = FaultProxy(server.server_address[1]).start()
    yield proxy
    proxy.stop()
    server.shutdown()
    server.server_close()


def connect(proxy: FaultProxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    sock.settimeout(5)
    return sock


def receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_pass_and_delay_forward_everything(proxy):
    with connect(proxy) as sock:
        sock.sendall(b"hello")
        assert receive(sock, 5) == b"hello"
        proxy.set("delay", delay=0.2)
        sock.sendall(b"later")
        assert receive(sock, 5) == b"later"


def test_blackhole_swallows_and_keeps_the_connection_open(proxy):
    with connect(proxy) as sock:
        proxy.set("blackhole")
        sock.sendall(b"anyone?")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(10)


def send_and_read(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    received = b""
    while chunk := sock.recv(10):
        received += chunk
    return received


def test_rst_resets_established_and_new_connections(proxy):
    with connect(proxy) as sock:
        sock.sendall(b"a")
        assert receive(sock, 1) == b"a"
        proxy.set("rst")
        with pytest.raises(ConnectionResetError):
            send_and_read(sock, b"b")
    with connect(proxy) as sock, pytest.raises(ConnectionResetError):
        send_and_read(sock, b"c")


def test_cut_forwards_n_bytes_then_resets(proxy):
    proxy.set("cut", cut_after=6)
    with connect(proxy) as sock:
        # 6 bytes in both directions together: "abc" reaches the echo, "abc" comes back, then the reset.
        received = []
        with pytest.raises(ConnectionResetError):
            received.append(send_and_read(sock, b"abcdefgh"))
        assert received == []
