"""Moderation on the page, in Debian's Chromium against a real twistd: typed in the input line, seen as people see it.

An operator logged in on the page kicks, mutes and bans a telnet user; a web
user who is kicked, banned or muted by an operator on telnet is told on the
page as plainly as a telnet user is, and a page shown out does not come back
by itself. The page comes from 127.0.0.1; the telnet users from addresses of
their own, so that an address ban covers only whom it is meant for.
"""

from __future__ import annotations

import re
import time

from moderation_lab import LEFT, Lab, comes_in, refused_at_connect
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from test_web_page import (  # noqa: F401 (browser and chromium are the fixtures of the browser tests)
    LOCAL_WEB,
    browser,
    chromium,
    console_problems,
    log_text,
    open_page,
    say,
    wait_for,
    wait_for_line,
)

from conftest import plain

WAIT = 20  # seconds: Argon2id is slow on purpose, and the machine is shared
PASSWORD = "Page-Operator-3141"
OP, TOM = "127.0.0.2", "127.0.0.3"
DISCONNECTED = "You are disconnected. Press Enter (or Join) to come back."


def page_log_in(driver, port: int, name: str, password: str) -> None:
    """Log in on the page with a registered name: its password in the password field."""
    driver.get(f"http://127.0.0.1:{port}/")
    wait_for(driver, lambda: driver.find_element(By.ID, "join").is_enabled(), WAIT, "the Join button")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "join").click()
    field = driver.find_element(By.ID, "password")
    wait_for(driver, field.is_displayed, WAIT, "the password field")
    field.send_keys(password, Keys.ENTER)
    wait_for(driver, lambda: driver.find_element(By.ID, "chat").is_displayed(), WAIT, "the chat")


def wait_for_match(driver, pattern: str, timeout: float = WAIT) -> re.Match:
    """The page's log matches `pattern` (a regular expression), within `timeout`."""
    return wait_for(driver, lambda: re.search(pattern, log_text(driver)), timeout, f"{pattern!r} in the page's log")


def status_text(driver) -> str:
    status = driver.find_element(By.ID, "status")
    return status.text if status.is_displayed() else ""


def stays(test, seconds: float, what: str) -> None:
    """`test()` holds all through the next `seconds`: for what must not happen (a page coming back by itself)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert test(), what
        time.sleep(0.2)


def connections_logged(lab: Lab) -> int:
    return lab.log.read_text(encoding="utf-8").count("event=connect ")


def test_an_operator_on_the_page_kicks_mutes_and_bans_a_telnet_user(browser, lab):  # noqa: F811
    lab.make_operator("alice", PASSWORD)
    server = lab.start("--flood-burst", "100", web=LOCAL_WEB)
    tom = lab.connect(TOM).login("tom")
    page_log_in(browser, server.web_port, "alice", PASSWORD)
    wait_for_line(browser, "You are an operator: /help lists what operators can do.")
    say(browser, "/help")
    wait_for_line(browser, "For operators:")
    assert re.search(r"/ban NAME \[TIME\] \[REASON\] +disconnects NAME", log_text(browser))

    say(browser, "/kick tom too loud")
    tom.expect(r"\*\*\* You have been kicked by alice: too loud\.\r\n")
    assert tom.closed()
    wait_for_line(browser, "tom was kicked by alice (too loud).")
    wait_for_line(browser, "tom is kicked.")

    tom = lab.connect(TOM).login("tom")
    muted_at = time.time()
    say(browser, "/mute tom 5s")
    tom.expect(r"You have been muted by alice for 5 seconds: you cannot speak in rooms or to all")
    wait_for_line(browser, "tom is muted for 5 seconds.")
    assert "You are muted" in tom.ask("can anyone hear me?")
    tom.expect(r"Your mute has ended: you can speak again\.")
    assert time.time() - muted_at >= 4.5
    tom.send("and now?")
    wait_for_line(browser, "tom: and now?")
    assert "can anyone hear me?" not in log_text(browser)

    say(browser, "/ban tom")
    tom.expect(r"\*\*\* You have been banned by alice until it is lifted\. Goodbye!\r\n")
    assert tom.closed()
    wait_for_line(browser, "tom is banned until it is lifted, and the address they came from.")
    assert "until it is lifted" in refused_at_connect(server.port, TOM)
    say(browser, "/bans")
    wait_for_line(browser, "127.0.0.3 (address) until it is lifted, by alice")
    assert "tom (name) until it is lifted, by alice" in log_text(browser)
    say(browser, "/unban 127.0.0.3")
    wait_for_line(browser, "The ban of 127.0.0.3 is lifted.")
    say(browser, "/unban tom")
    wait_for_line(browser, "The ban of tom is lifted.")
    back = comes_in(server.port, TOM, timeout=5)
    back.send("tom")
    back.expect("Pick a colour")
    assert console_problems(browser) == []


def test_a_kicked_web_user_is_told_why_and_the_page_does_not_come_back_by_itself(browser, lab):  # noqa: F811
    lab.make_operator("teacher", PASSWORD)
    server = lab.start(web=LOCAL_WEB)
    teacher = lab.connect(OP).log_in("teacher", PASSWORD)
    open_page(browser, server, "eve", "green")
    teacher.expect("eve joined the lobby.")
    teacher.send("/kick eve that is enough")
    wait_for_line(browser, "You have been kicked by teacher: that is enough.")
    wait_for(browser, lambda: status_text(browser) == DISCONNECTED, WAIT, "the page says it is disconnected")
    teacher.expect("eve is kicked.")
    assert "Server is down" not in log_text(browser)

    connections = connections_logged(lab)
    stays(
        lambda: status_text(browser) == DISCONNECTED and connections_logged(lab) == connections,
        5,  # longer than the page's first tries after a drop (1 s, then 2 s)
        "the kicked page stays away until its person comes back",
    )
    assert "1 online" in teacher.ask("/who")

    browser.find_element(By.ID, "say").send_keys(Keys.ENTER)  # a kick is not a ban: Enter comes back
    teacher.expect("eve joined the lobby.")
    wait_for(browser, lambda: browser.find_element(By.ID, "where").text == "eve in the lobby", WAIT, "eve back")
    assert console_problems(browser) == []


def test_a_banned_web_user_is_told_for_how_long_and_again_when_they_try_to_come_back(browser, lab):  # noqa: F811
    lab.make_operator("teacher", PASSWORD)
    server = lab.start(web=LOCAL_WEB)
    teacher = lab.connect(OP).log_in("teacher", PASSWORD)
    open_page(browser, server, "eve", "green")
    teacher.expect("eve joined the lobby.")
    teacher.send("/ban eve 10m rude to everyone")
    wait_for_line(browser, "You have been banned by teacher for 10 minutes: rude to everyone. Goodbye!")
    wait_for(browser, lambda: status_text(browser) == DISCONNECTED, WAIT, "the page says it is disconnected")
    teacher.expect(r"eve is banned for 10 minutes, and the address they came from\.")
    connections = connections_logged(lab)
    stays(lambda: connections_logged(lab) == connections, 5, "the banned page does not knock again by itself")

    browser.find_element(By.ID, "say").send_keys(Keys.ENTER)  # she tries to come back
    wait_for_match(browser, rf"Your address is banned from this server {LEFT} \(rude to everyone\)\. Goodbye!")
    wait_for(browser, lambda: status_text(browser) == DISCONNECTED, WAIT, "still disconnected")
    teacher.fence()
    assert "eve joined" not in plain(teacher.raw).split("eve is banned")[1]
    assert console_problems(browser) == []


def test_a_muted_web_user_sees_why_their_line_was_not_sent(browser, lab):  # noqa: F811
    lab.make_operator("teacher", PASSWORD)
    server = lab.start(web=LOCAL_WEB)
    teacher = lab.connect(OP).log_in("teacher", PASSWORD)
    open_page(browser, server, "eve", "green")
    teacher.expect("eve joined the lobby.")
    teacher.send("/mute eve 10m too many links")
    wait_for_match(
        browser,
        r"You have been muted by teacher for 10 minutes: too many links: you cannot speak in rooms or to all; "
        r"private messages still go\.",
    )
    say(browser, "why can nobody hear me?")
    wait_for_match(browser, rf"Error: You are muted {LEFT}: your line was not sent\. Private messages still go\.")
    say(browser, "/all hello, every room")
    wait_for(browser, lambda: log_text(browser).count("your line was not sent") == 2, WAIT, "the second refusal")
    say(browser, "/msg teacher sorry, I will stop")
    teacher.expect(r"\[private\] eve -> teacher: sorry, I will stop")
    heard = plain(teacher.raw)
    assert "why can nobody hear me?" not in heard and "hello, every room" not in heard
    assert browser.find_element(By.ID, "chat").is_displayed() and status_text(browser) == ""  # still online
    assert console_problems(browser) == []
