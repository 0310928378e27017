"""The web listener of a real twistd, from outside: the page's files, and a WebSocket that misbehaves.

A browser is polite; these clients are not. They lie about their Origin, send
frames too big or not UTF-8, stop reading, and open more connections than an
address may -- and the server answers each, and nobody else notices.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress

from chatroom.adapters.site import page_address
from test_end_to_end import REPO, TWISTD, Client, Server
from websocket_client import BINARY, TEXT, HandshakeRefused, WebSocket, log_in

LOCAL_WEB = "tcp:0:interface=127.0.0.1"


@pytest.fixture
def web(tmp_path):
    server = Server(tmp_path, "--max-line", "200", web=LOCAL_WEB)
    try:
        yield server
    finally:
        server.stop()


def get(port: int, path: str, context: ssl.SSLContext | None = None):
    scheme = "https" if context else "http"
    try:
        return urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}{path}", timeout=5, context=context)
    except urllib.error.HTTPError as error:
        return error


# The page's files.


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/", "text/html"), ("/chat.js", "text/javascript"), ("/chat.css", "text/css"), ("/icon.svg", "image/svg+xml")],
)
def test_the_page_is_served_with_its_own_headers(web, path, content_type):
    response = get(web.web_port, path)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith(content_type)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_loads_nothing_from_another_host(web):
    for path in ("/", "/chat.js", "/chat.css"):
        text = get(web.web_port, path).read().decode()
        assert not re.search(r"(https?:)?//[a-z0-9]", text.replace("http://www.w3.org", "")), path


@pytest.mark.parametrize("path", ["/nope", "/index.html/more", "/../setup.cfg", "/chat/x", "/page/chat.js"])
def test_an_unknown_path_is_a_plain_404(web, path):
    response = get(web.web_port, path)
    assert response.status == 404
    assert response.headers["Content-Type"].startswith("text/plain")


def test_the_chat_path_without_an_upgrade_asks_for_one(web):
    assert get(web.web_port, "/chat").status == 426


def test_without_web_there_is_no_web_listener(tmp_path):
    server = Server(tmp_path)
    try:
        assert server.web_port is None
        assert not any("WebSite" in line for line in server.output)
    finally:
        server.stop()


def test_a_busy_web_port_is_one_line_and_exit_1(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        result = subprocess.run(
            [str(TWISTD), "-n", "--pidfile=", "chatroom", "--port", "tcp:0:interface=127.0.0.1",
             "--web", f"tcp:{port}:interface=127.0.0.1", "--logfile", str(tmp_path / "chatroom.log")],
            env=dict(os.environ, PYTHONPATH=str(REPO)), cwd=tmp_path, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    finally:
        busy.close()
    assert result.returncode == 1
    # The same line as for a busy chat port (test_end_to_end), wherever twistd -n puts it.
    said = f"chatroom: Couldn't listen on 127.0.0.1:{port}: [Errno 98] Address already in use."
    assert said in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# Chatting: a web user and a telnet user in the same hall.


def test_a_web_user_and_a_telnet_user_chat_both_ways(web):
    page = log_in(web.web_port, "webby", "red")
    telnet = Client(web.port).login("tel", "blue")
    page.until(lambda e: e["type"] == "room-notice" and e["text"] == "tel joined the lobby.")
    telnet.send("<b>bold</b> & <script>alert(1)</script>")
    said = page.until_type("chat")[-1]
    assert said["from"] == {"name": "tel", "colour": "blue"}
    assert said["text"] == "<b>bold</b> & <script>alert(1)</script>"
    assert said["room"] == "lobby" and said["id"] > 0 and abs(said["time"] - time.time()) < 5
    page.line("hello telnet")
    telnet.expect(r"\[\d\d:\d\d\] webby: hello telnet\r\n")
    assert b"\x1b[38;5;196mwebby\x1b[0m: hello telnet\r\n" in telnet.raw  # in the web user's colour


def test_the_first_message_is_hello_with_what_the_page_needs(web):
    page = WebSocket(web.web_port)
    hello = page.events()[0]
    assert hello["type"] == "hello"
    assert hello["colours"][0] == "black" and len(hello["colours"]) == 12
    assert "/help" in hello["commands"] and "@NAME" not in hello["commands"]
    assert hello["max_line"] == 200 and hello["epoch"]


def test_a_message_with_a_ref_is_acknowledged_after_what_it_caused(web):
    page = log_in(web.web_port, "webby")
    page.line("/time", ref="t1")
    events = page.until_type("ack")
    assert events[-1]["ref"] == "t1"
    assert any(e["type"] == "notice" and e["lines"][0].startswith("Server time:") for e in events)


def test_a_page_back_from_a_drop_can_ask_for_what_it_missed(web):
    telnet = Client(web.port).login("tel")
    telnet.send("before")
    telnet.expect("tel: before")
    page = log_in(web.web_port, "webby")
    last = page.until_type("members")[-1]["id"]
    telnet.send("after one")
    telnet.send("after two")
    telnet.expect("after two")
    page.until(lambda e: e.get("text") == "after two")
    page.send_json({"type": "missed", "after": last})
    missed = page.until_type("history")[-1]
    assert [line["text"] for line in missed["lines"]] == ["after one", "after two"]


# Hostile clients.


def test_only_the_servers_own_pages_may_open_the_chat(web):
    port = web.web_port
    for origin in (f"http://evil.example:{port}", "http://127.0.0.1:1", f"https://127.0.0.1:{port}", "null"):
        with pytest.raises(HandshakeRefused) as refused:
            WebSocket(port, origin=origin)
        assert re.search(r" 40[03] ", refused.value.status_line)  # autobahn itself turns away 'null' (400)
    assert WebSocket(port).events()[0]["type"] == "hello"  # its own page
    assert WebSocket(port, origin=None).events()[0]["type"] == "hello"  # no Origin: not a browser
    assert "refused a WebSocket from 127.0.0.1: its page came from http://evil.example" in web.log.read_text()


def test_a_message_over_max_line_gets_an_error_and_the_connection_stays(web):
    page = log_in(web.web_port, "webby")
    telnet = Client(web.port).login("tel")
    page.line("x" * 201)
    assert page.until_type("error")[-1]["text"] == "That line was longer than 200 bytes and was not sent."
    page.line("é" * 101)  # 202 bytes in UTF-8
    assert page.until_type("error")[-1]["text"].startswith("That line was longer than 200 bytes")
    page.send_frame(TEXT, json.dumps({"type": "line", "text": "y" * 20_000}).encode())
    assert page.until_type("error")[-1]["text"].startswith("That line was longer than 200 bytes")
    page.line("still here")
    assert "xxxxx" not in telnet.expect("webby: still here")


def test_an_ack_follows_lines_that_waited_behind_flood_control(web):
    page = log_in(web.web_port, "webby")
    for i in range(12):  # past the flood burst: the last ones wait their turn
        page.line(f"line {i}", **({"ref": "last"} if i == 11 else {}))
    events = page.until_type("ack", timeout=10)
    assert [e["text"] for e in events if e["type"] == "chat"] == [f"line {i}" for i in range(12)]


def test_an_over_long_messages_error_comes_after_the_answers_to_the_lines_before_it(web):
    page = log_in(web.web_port, "webby")
    for i in range(12):  # past the flood burst: the last ones wait their turn
        page.line(f"line {i}")
    page.line("x" * 201)
    page.line("after")
    events = page.until(lambda e: e.get("text") == "after", timeout=10)
    order = [e["text"] if e["type"] == "chat" else "error" for e in events if e["type"] in ("chat", "error")]
    assert order == [f"line {i}" for i in range(12)] + ["error", "after"]


@pytest.mark.parametrize(
    ("payload", "opcode", "problem"),
    [
        (b"not json", TEXT, "That message was not JSON."),
        (b"[1, 2]", TEXT, 'A message is a JSON object with a "type".'),
        (b'{"type": "line"}', TEXT, 'Not a message this server knows: "line".'),
        (b'{"type": "launch", "text": "x"}', TEXT, 'Not a message this server knows: "launch".'),
        (b'{"type": "missed", "after": "x"}', TEXT, 'Not a message this server knows: "missed".'),
        (b"\x00\x01\x02", BINARY, "Send text messages (JSON), not binary ones."),
    ],
)
def test_a_message_that_is_not_one_gets_an_error_and_the_connection_stays(web, payload, opcode, problem):
    page = log_in(web.web_port, "webby")
    page.send_frame(opcode, payload)
    assert page.until_type("error")[-1]["text"] == problem
    page.line("/time", ref=1)
    page.until_type("ack")


def test_a_frame_too_big_to_take_is_closed_with_1009_and_nobody_else_notices(web):
    bystander = log_in(web.web_port, "bystander")
    page = log_in(web.web_port, "webby")
    page.send_frame(TEXT, b"", declared=100_000_000)  # a header that promises 100 MB
    assert page.closed() == 1009
    left = bystander.until(lambda e: e["type"] == "room-notice" and "webby left" in e["text"])[-1]
    assert left["text"] == "webby left the chat."
    bystander.line("/time", ref=1)
    bystander.until_type("ack")


def test_text_that_is_not_utf8_is_closed_with_1007_and_nobody_else_notices(web):
    telnet = Client(web.port).login("tel")
    page = log_in(web.web_port, "webby")
    telnet.expect("webby joined")
    page.send_frame(TEXT, b'{"type": "line", "text": "caf\xe9"}')
    assert page.closed() == 1007
    telnet.expect("webby left the chat.")
    telnet.send("/who")
    telnet.expect("1 online")
    assert "Traceback" not in web.log.read_text()


def test_a_browser_that_stops_reading_is_cut_off_and_nobody_waits_for_it(tmp_path):
    server = Server(tmp_path, "--flood-rate", "0", web=LOCAL_WEB)
    try:
        silent = log_in(server.web_port, "silent")
        silent.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader = Reader(log_in(server.web_port, "reader"))
        flooder = socket.create_connection(("127.0.0.1", server.port))
        flooder.sendall(b"flooder\nred\n")
        threading.Thread(target=_drain, args=(flooder,), daemon=True).start()
        rss_before = server.rss()
        for first in range(0, LINES, ROUND):
            for i in range(first, first + ROUND):
                flooder.sendall(b"line %d " % i + b"." * 1000 + b"\n")  # 8 MB in all
            # The reader keeps up (a test client in Python on a busy machine might not, at full speed).
            assert reader.wait_for(first + ROUND - 1)
        said = [e["text"].split(" ")[1] for e in reader.got if e["type"] == "chat" and e["from"]["name"] == "flooder"]
        assert said == [str(i) for i in range(LINES)]  # the browser that reads misses nothing
        assert any(e["type"] == "room-notice" and e["text"] == "silent left the chat (too far behind: stopped "
                   "reading)." for e in reader.got)  # fmt: skip
        assert server.rss() - rss_before < 20 * 1024 * 1024
        assert "silent cut off: over 1048576 bytes queued and not reading" in _whole_log(server)
    finally:
        server.stop()


LINES, ROUND = 8000, 200


class Reader:
    """A browser that reads everything, in a thread, and says how far it has got."""

    def __init__(self, page: WebSocket):
        self.page = page
        self.got: list[dict] = []
        self.last = -1
        self._moved = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def wait_for(self, number: int, seconds: float = 30) -> bool:
        with self._moved:
            return self._moved.wait_for(lambda: self.last >= number, seconds)

    def _read(self) -> None:
        while self.last < LINES - 1:
            for event in self.page.events(30):
                self.got.append(event)
                if event["type"] == "chat" and event["text"].startswith("line "):
                    with self._moved:
                        self.last = int(event["text"].split(" ")[1])
                        self._moved.notify_all()


def _whole_log(server: Server) -> str:
    """The log and its rotated files: a test that floods fills more than one."""
    return "".join(path.read_text() for path in sorted(server.log.parent.glob("chatroom*.log")))


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(1 << 20):
            pass
    except OSError:
        pass


def test_web_and_telnet_connections_share_the_per_address_limit(tmp_path):
    server = Server(tmp_path, "--max-per-ip", "3", web=LOCAL_WEB)
    try:
        first, second = Client(server.port), Client(server.port)
        first.expect("What is your name")
        second.expect("What is your name")
        page = log_in(server.web_port, "webby")
        refused = WebSocket(server.web_port)
        goodbye = refused.events()[0]
        assert goodbye["type"] == "goodbye"
        assert goodbye["text"] == "Too many connections from your address (the limit is 3). Goodbye!"
        assert refused.closed() == 1000
        Client(server.port).expect("Too many connections from your address \\(the limit is 3\\)")
        other = WebSocket(server.web_port, source="127.0.0.2", host="127.0.0.1")
        assert other.events()[0]["type"] == "hello"  # another address has its own places
        page.line("/who", ref=1)
        page.until_type("ack")  # and the ones let in are unharmed
    finally:
        server.stop()


def test_the_login_timeout_holds_for_web_users_too(tmp_path):
    server = Server(tmp_path, "--login-timeout", "1", web=LOCAL_WEB)
    try:
        page = WebSocket(server.web_port)
        goodbye = page.until_type("goodbye", timeout=10)[-1]
        assert goodbye["text"] == "You did not log in within 1 s (a name and a colour). Goodbye!"
        assert goodbye["will_return"] is False
        assert page.closed() == 1000
    finally:
        server.stop()


def test_flood_control_and_the_shout_rule_hold_for_web_users_too(web):
    page = log_in(web.web_port, "webby")
    for i in range(12):
        page.line(f"line {i}")
    slow = page.until(lambda e: e["type"] == "notice" and e["lines"][0].startswith("Slow down"))
    assert sum(e["type"] == "chat" for e in slow) == 10
    shouter = log_in(web.web_port, "shouter")
    shouter.line("STOP SHOUTING")
    assert "Please don't shout" in shouter.until_type("notice")[-1]["lines"][0]
    shouter.line("I SAID STOP")
    assert shouter.until_type("goodbye")[-1]["text"] == "You have been kicked for shouting."
    assert shouter.closed() == 1000


def make_certificate(folder) -> tuple[str, ssl.SSLContext]:
    """A key and a self-signed certificate for 127.0.0.1, as endpoint options, and a context that trusts it."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return f"privateKey={key}:certKey={cert}", ssl.create_default_context(cafile=str(cert))


def logged(server: Server, pattern: str, timeout: float = 10) -> str:
    """The server's log once a line of it matches `pattern`."""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, text := server.log.read_text(encoding="utf-8")):
        assert time.monotonic() < deadline, f"never logged {pattern!r}"
        time.sleep(0.05)
    return text


def test_the_page_s_address_is_said_at_start_beside_the_chat_port(tmp_path):
    server = Server(tmp_path, web="tcp:0:interface=127.0.0.1")
    try:
        said = logged(server, "web page at ")
        assert f"| web page at http://127.0.0.1:{server.web_port}/\n" in said
        assert said.index(f"ChatFactory starting on {server.port}") < said.index("web page at")
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("host", "scheme", "address"),
    [
        (IPv4Address("TCP", "0.0.0.0", 8080), "http", "http://localhost:8080/"),
        (IPv6Address("TCP", "::", 8080), "http", "http://localhost:8080/"),
        (IPv4Address("TCP", "192.168.1.20", 443), "https", "https://192.168.1.20:443/"),
        (IPv6Address("TCP", "fe80::1%eth0", 8443), "https", "https://[fe80::1]:8443/"),
        (UNIXAddress(b"/tmp/chat.sock"), "http", None),
    ],
)
def test_the_page_s_address_is_one_a_browser_takes(host, scheme, address):
    assert page_address(host, scheme) == address


def test_web_works_over_tls_with_the_same_install(tmp_path):
    keys, context = make_certificate(tmp_path)
    server = Server(tmp_path, web=f"ssl:0:interface=127.0.0.1:{keys}")
    try:
        assert f"| web page at https://127.0.0.1:{server.web_port}/\n" in logged(server, "web page at ")
        response = get(server.web_port, "/", context)
        assert response.status == 200 and "nosniff" in response.headers["X-Content-Type-Options"]
        page = log_in(server.web_port, "secure", tls=context)
        telnet = Client(server.port).login("tel")
        page.line("over wss")
        telnet.expect("secure: over wss")
        with pytest.raises(HandshakeRefused):
            WebSocket(server.web_port, origin=f"http://127.0.0.1:{server.web_port}", tls=context)
    finally:
        server.stop()


def test_the_chat_port_works_over_tls_too(tmp_path):
    keys, context = make_certificate(tmp_path)
    server = Server(tmp_path, port=f"ssl:0:interface=127.0.0.1:{keys}")
    try:
        secure = context.wrap_socket(socket.create_connection(("127.0.0.1", server.port)), server_hostname="127.0.0.1")
        secure.settimeout(5)
        secure.sendall(b"tls\nred\nhello over tls\n")
        received = b""
        while b"tls: hello over tls" not in received.replace(b"\x1b[38;5;196m", b"").replace(b"\x1b[0m", b""):
            received += secure.recv(65536)
    finally:
        server.stop()
