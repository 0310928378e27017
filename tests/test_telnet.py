"""The telnet filter: commands out, offers refused, Ctrl-C noticed, everything else kept in order."""

from __future__ import annotations

from chatroom.adapters.telnet import BRK, DO, DONT, IAC, IP, SB, SE, WILL, WONT, TelnetFilter


class Recorder:
    def __init__(self):
        self.events: list[tuple] = []

    def telnet_data(self, data):
        self.events.append(("data", data))

    def telnet_reply(self, data):
        self.events.append(("reply", data))

    def telnet_interrupt(self):
        self.events.append(("interrupt",))

    def data(self) -> bytes:
        return b"".join(e[1] for e in self.events if e[0] == "data")

    def replies(self) -> bytes:
        return b"".join(e[1] for e in self.events if e[0] == "reply")


def feed(*chunks: bytes) -> Recorder:
    recorder = Recorder()
    telnet = TelnetFilter(recorder)
    for chunk in chunks:
        telnet.feed(chunk)
    return recorder


def test_plain_text_passes_untouched_in_one_piece():
    assert feed(b"hello world\r\n").events == [("data", b"hello world\r\n")]


def test_offers_are_refused_and_refusals_are_not_answered():
    got = feed(bytes([IAC, WILL, 31, IAC, DO, 1, IAC, WONT, 3, IAC, DONT, 5]) + b"hi\r\n")
    assert got.data() == b"hi\r\n"
    assert got.replies() == bytes([IAC, DONT, 31, IAC, WONT, 1])


def test_commands_and_subnegotiations_are_dropped_and_iac_iac_is_0xff():
    data = b"a" + bytes([IAC, 241]) + b"b" + bytes([IAC, SB, 31, 0, 80, IAC, IAC, 0, 24, IAC, SE])
    got = feed(data + b"c" + bytes([IAC, IAC]) + b"d")
    assert got.data() == b"abc\xffd"


def test_a_stray_0xff_that_is_no_telnet_command_is_kept():
    assert feed(b"a\xffb\n").data() == b"a\xffb\n"  # later decoded as a replacement character


def test_ctrl_c_and_break_are_reported_after_what_came_before_them():
    got = feed(b"before" + bytes([IAC, IP]) + b"after" + bytes([IAC, BRK]))
    assert got.events == [("data", b"before"), ("interrupt",), ("data", b"after"), ("interrupt",)]


def test_state_is_kept_across_reads():
    got = feed(b"x" + bytes([IAC]), bytes([WILL]), bytes([24]) + b"y")
    assert got.data() == b"xy"
    assert got.replies() == bytes([IAC, DONT, 24])


def test_an_unterminated_subnegotiation_does_not_mute_the_client_forever():
    got = feed(bytes([IAC, SB]) + b"z" * 2000 + b"\nhello\n")
    assert got.data().endswith(b"\nhello\n")


def test_each_offer_is_refused_once_however_often_it_is_made():
    got = feed(bytes([IAC, DO, 1]) * 1000, bytes([IAC, WILL, 1, IAC, DO, 1]))
    assert got.replies() == bytes([IAC, WONT, 1, IAC, DONT, 1])
