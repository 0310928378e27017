"""The store on the page, in Debian's Chromium against a real twistd: a registered name, a kill -9, the history.

A registered name's login asks for its password in a password field; after the
server is killed and started again on the same file, the page logs in again by
itself and a newcomer's welcome shows what was said before the restart.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
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

from test_end_to_end import Client, Server

WAIT = 20  # seconds: Argon2id is slow on purpose, and the machine is shared
PASSWORD = "Page-Secret-6650"
WRONG = "Wrong-Page-0000"


@pytest.fixture
def servers(tmp_path):
    """Starts twistd servers in one folder (so on one store) and stops each by its pid at the end."""
    folder = tmp_path / "server"
    folder.mkdir()
    started: list[Server] = []

    def start(*options: str, web: str = LOCAL_WEB) -> Server:
        started.append(Server(folder, *options, web=web))
        return started[-1]

    start.folder = folder
    try:
        yield start
    finally:
        for server in started:
            server.stop()


def register(server: Server, name: str, password: str, colour: str) -> None:
    owner = Client(server.port).login(name, colour)
    owner.send(f"/register {password}")
    owner.expect(f"{name} is registered", timeout=WAIT)
    owner.send("/quit")
    assert owner.closed(WAIT)


def shown(driver, element_id: str) -> bool:
    return driver.find_element(By.ID, element_id).is_displayed()


def colour_of(driver, name: str) -> str | None:
    """The colour the side panel shows `name` in."""
    for element in driver.find_elements(By.CSS_SELECTOR, "#members .name"):
        if element.text == name:
            return element.get_attribute("data-colour")
    return None


def test_a_registered_name_logs_in_in_a_password_field_and_again_by_itself_after_kill_9(browser, servers):  # noqa: F811
    first = servers()
    register(first, "alice", PASSWORD, "purple")
    tom = Client(first.port).login("tom", "red")

    browser.get(f"http://127.0.0.1:{first.web_port}/")
    wait_for(browser, lambda: browser.find_element(By.ID, "join").is_enabled(), what="the Join button")
    browser.find_element(By.ID, "name").send_keys("alice")
    browser.find_element(By.CSS_SELECTOR, "input[name=colour][value='blue']").click()  # not hers: she keeps purple
    browser.find_element(By.ID, "join").click()
    field = browser.find_element(By.ID, "password")
    wait_for(browser, field.is_displayed, WAIT, "the password field")
    assert field.get_attribute("type") == "password"
    assert browser.find_element(By.ID, "password-label").text == "Password for alice:"
    assert browser.switch_to.active_element == field
    assert not shown(browser, "colours")  # a registered name keeps its colour: not asked

    field.send_keys(WRONG, Keys.ENTER)
    problem = browser.find_element(By.ID, "login-problem")
    wait_for(browser, lambda: problem.text == "Wrong password for alice.", WAIT, "the reason")
    assert field.is_displayed() and field.get_attribute("value") == ""
    assert browser.find_element(By.ID, "join").is_enabled()
    assert not shown(browser, "chat")

    field.send_keys(PASSWORD, Keys.ENTER)
    wait_for(browser, lambda: shown(browser, "chat"), WAIT, "the chat")
    wait_for(browser, lambda: colour_of(browser, "alice") == "purple", WAIT, "alice in her registered colour")
    tom.expect("alice joined the lobby", timeout=WAIT)

    tom.send("said before the crash")
    wait_for_line(browser, "tom: said before the crash")
    say(browser, "alice said it too")
    tom.expect("alice: alice said it too", timeout=WAIT)
    time.sleep(1.3)  # on disk within a second of being said
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=WAIT)
    status = browser.find_element(By.ID, "status")
    wait_for(browser, lambda: "Server is down" in status.text, WAIT, "the page says the server is down")

    second = servers(web=f"tcp:{first.web_port}:interface=127.0.0.1")  # the same page address, the same store
    wait_for(browser, lambda: "Connected again." in status.text, 30, "the page back by itself")
    assert shown(browser, "chat") and not shown(browser, "login")  # logged in again without asking
    assert browser.find_element(By.ID, "where").text == "alice in the lobby"
    wait_for(browser, lambda: colour_of(browser, "alice") == "purple", WAIT, "still in her colour")
    text = log_text(browser)
    assert text.count("tom: said before the crash") == 1  # the history it already showed is not shown twice
    assert text.count("alice: alice said it too") == 1
    newcomer = Client(second.port)
    newcomer.expect("What is your name")
    newcomer.send("tom")
    newcomer.expect("Pick a colour")
    newcomer.send("red")
    assert "Online now: alice." in newcomer.expect(r"You are in the lobby.*\n", timeout=WAIT)

    # A page loaded afresh: the welcome shows what was said before the kill.
    browser.get("about:blank")
    browser.get_log("browser")  # refused tries while the server was down are the last page's, not this one's
    open_page(browser, second, "bob", "green")
    wait_for_line(browser, "-- The last lines said in the lobby:", WAIT)
    text = log_text(browser)
    before = text.index("-- The last lines said in the lobby:")
    assert before < text.index("tom: said before the crash") < text.index("alice: alice said it too")
    assert text.index("alice: alice said it too") < text.index("-- (end of recent lines)")
    assert PASSWORD not in browser.page_source and WRONG not in browser.page_source
    assert console_problems(browser) == []

    second.stop()
    for path in servers.folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PASSWORD.encode() not in data and WRONG.encode() not in data, path.name


def test_history_typed_on_the_page_is_answered(browser, servers):  # noqa: F811
    server = servers()
    tom = Client(server.port).login("tom", "red")
    for n in range(3):
        tom.send(f"line {n} for the record")
        tom.expect(f"tom: line {n} for the record")
    open_page(browser, server, "alice", "blue")
    wait_for_line(browser, "-- (end of recent lines)", WAIT)
    lines = len(browser.find_elements(By.CSS_SELECTOR, "#log li"))
    say(browser, "/history 2")
    wait_for(
        browser,
        lambda: len(browser.find_elements(By.CSS_SELECTOR, "#log li")) > lines,
        WAIT,
        "any answer to /history 2 on the page",
    )
    answer = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#log li")][lines:]
    assert any("tom: line 1 for the record" in line for line in answer), answer
    assert any("tom: line 2 for the record" in line for line in answer), answer
    assert not any("line 0" in line for line in answer), answer


def test_the_welcome_after_a_password_is_in_the_log(browser, servers):  # noqa: F811
    server = servers()
    register(server, "alice", PASSWORD, "purple")
    tom = Client(server.port).login("tom", "red")  # noqa: F841 (online, so the welcome names him)
    browser.get(f"http://127.0.0.1:{server.web_port}/")
    wait_for(browser, lambda: browser.find_element(By.ID, "join").is_enabled(), what="the Join button")
    browser.find_element(By.ID, "name").send_keys("alice")
    browser.find_element(By.ID, "join").click()
    field = browser.find_element(By.ID, "password")
    wait_for(browser, field.is_displayed, WAIT, "the password field")
    field.send_keys(PASSWORD, Keys.ENTER)
    wait_for(browser, lambda: shown(browser, "chat"), WAIT, "the chat")
    wait_for_line(browser, "You are in the lobby with tom.", WAIT)
    text = log_text(browser)
    assert "Welcome, alice! You are online." in text and "Online now: tom." in text
    welcome_name = browser.find_element(By.CSS_SELECTOR, "#log li.server .name")
    assert welcome_name.text == "alice" and welcome_name.get_attribute("data-colour") == "purple"


def test_a_fresh_page_shows_a_busy_rooms_lines_once_and_in_order(browser, servers):  # noqa: F811
    server = servers("--flood-rate", "0")
    tom = Client(server.port).login("tom", "red")
    said = [f"line {n:02d} for the record" for n in range(25)]  # more than the 20 a room shows (--history)
    for line in said:
        tom.send(line)
        tom.expect(f"tom: {line}", timeout=WAIT)
    open_page(browser, server, "alice", "blue")
    wait_for_line(browser, "-- (end of recent lines)", WAIT)
    say(browser, "here now")
    wait_for_line(browser, "alice: here now", WAIT)  # whatever else logging in brought has come by now
    text = log_text(browser)
    assert "Nothing has been said" not in text
    assert all(text.count(f"tom: {line}") <= 1 for line in said), text
    shown_lines = [line for line in said if f"tom: {line}" in text]
    assert shown_lines == said[-len(shown_lines) :] and len(shown_lines) >= 20, text
    positions = [text.index(f"tom: {line}") for line in shown_lines]
    assert positions == sorted(positions), text
