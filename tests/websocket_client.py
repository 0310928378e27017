"""A small WebSocket client over a plain socket (RFC 6455), for tests that need to misbehave.

A browser never sends a frame of broken UTF-8, never lies about its Origin and
always reads; these tests need a client that does all of that, byte for byte.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import struct
import time

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class HandshakeRefused(Exception):
    def __init__(self, status_line: str):
        super().__init__(status_line)
        self.status_line = status_line


class WebSocket:
    def __init__(
        self,
        port: int,
        origin: str | None = "same",
        host: str = "127.0.0.1",
        path: str = "/chat",
        tls: ssl.SSLContext | None = None,
        source: str | None = None,
        timeout: float = 10,
    ):
        sock = socket.create_connection((host, port), timeout=timeout, source_address=(source, 0) if source else None)
        self.sock = tls.wrap_socket(sock, server_hostname=host) if tls else sock
        scheme = "https" if tls else "http"
        origin = f"{scheme}://{host}:{port}" if origin == "same" else origin
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if origin is not None:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._buffer = b""
        head = self._read_until(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode()
        if " 101 " not in status:
            raise HandshakeRefused(status)
        self.close_code: int | None = None
        self.close_reason = ""

    # Sending.

    def send_json(self, message: dict) -> None:
        self.send_frame(TEXT, json.dumps(message).encode())

    def line(self, text: str, **extra) -> None:
        self.send_json({"type": "line", "text": text, **extra})

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True, declared: int | None = None) -> None:
        """One masked frame; `declared` lies about the payload's length in the header."""
        length = len(payload) if declared is None else declared
        head = bytes([(0x80 if fin else 0) | opcode])
        if length < 126:
            head += bytes([0x80 | length])
        elif length < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    # Receiving.

    def events(self, timeout: float = 5) -> list[dict]:
        """The events of the next message (a JSON array), or [] if the connection closed."""
        opcode, payload = self.frame(timeout)
        while opcode in (PING, PONG):
            if opcode == PING:
                self.send_frame(PONG, payload)
            opcode, payload = self.frame(timeout)
        if opcode == CLOSE:
            return []
        return json.loads(payload)

    def until(self, test, timeout: float = 5) -> list[dict]:
        """Every event up to and including the first for which `test(event)` is true."""
        seen: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"not seen within {timeout} s; got {seen}")
            batch = self.events(left)
            if not batch:
                raise AssertionError(f"closed ({self.close_code} {self.close_reason}) before it came; got {seen}")
            for event in batch:
                seen.append(event)
                if test(event):
                    return seen

    def until_type(self, kind: str, timeout: float = 5) -> list[dict]:
        return self.until(lambda event: event["type"] == kind, timeout)

    def frame(self, timeout: float = 5) -> tuple[int, bytes]:
        self.sock.settimeout(timeout)
        first, second = self._read(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read(8))
        payload = self._read(length)
        opcode = first & 0x0F
        if opcode == CLOSE:
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            self.close_reason = payload[2:].decode("utf-8", "replace")
        return opcode, payload

    def closed(self, timeout: float = 5) -> int | None:
        """Reads until the server closes; its close code (None if it just dropped the connection)."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                opcode, _ = self.frame(deadline - time.monotonic())
                if opcode == CLOSE:
                    return self.close_code
        except (ConnectionError, EOFError):
            return None
        raise AssertionError("the server did not close the connection")

    def _read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed during the handshake")
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def log_in(port: int, name: str, colour: str = "blue", **options) -> WebSocket:
    """A WebSocket that has logged in as `name` and read up to its welcome in the lobby."""
    ws = WebSocket(port, **options)
    ws.until(lambda e: e["type"] == "prompt" and e["asks"] == "name")
    ws.line(name)
    ws.until(lambda e: e["type"] == "prompt" and e["asks"] == "colour")
    ws.line(colour)
    ws.until_type("you")
    return ws
