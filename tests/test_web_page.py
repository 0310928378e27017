"""The page as a person's browser shows it: Debian's Chromium, headless, against a real twistd.

A telnet user (a raw TCP socket) sits beside the browser, so every test is a
conversation between the two kinds of screen. Set CHATROOM_SCREENSHOTS to a
folder to keep the screenshots taken here (README.md's comes from this).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from test_end_to_end import Client, Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
LOCAL_WEB = "tcp:0:interface=127.0.0.1"
DESKTOP = (1280, 800)
PHONE = (390, 844)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    os.environ["SE_OFFLINE"] = "true"  # selenium never looks for a driver on the network
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--lang=en-GB",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium):
    chromium.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    chromium.get("about:blank")
    chromium.get_log("browser")  # start each test with an empty console
    yield chromium
    chromium.get("about:blank")


@pytest.fixture
def server(tmp_path):
    server = Server(tmp_path, web=LOCAL_WEB)
    try:
        yield server
    finally:
        server.stop()


def wait_for(driver, test, timeout: float = 10, what: str = ""):
    # The side panels are drawn anew on each update, so an element found a moment ago may be gone: look again.
    waiting = WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException])
    try:
        return waiting.until(lambda d: test())
    except TimeoutException:
        raise AssertionError(f"never happened: {what or test}") from None


def panel(driver, which: str) -> list[str]:
    """The buttons' texts in one side panel, read in one step so a redraw cannot come between."""
    return driver.execute_script(f"return [...document.querySelectorAll('#{which} button')].map(b => b.innerText)")


def click_in_panel(driver, which: str, text: str) -> None:
    """Clicks the button in a panel whose text starts with `text`; a redraw in between means look again."""

    def click() -> bool:
        button = next(e for e in driver.find_elements(By.CSS_SELECTOR, f"#{which} button") if e.text.startswith(text))
        button.click()
        return True

    wait_for(driver, click, what=f"{text!r} clicked in #{which}")


def log_text(driver) -> str:
    return driver.find_element(By.ID, "log").text


def wait_for_line(driver, text: str, timeout: float = 10) -> None:
    wait_for(driver, lambda: text in log_text(driver), timeout, f"{text!r} in the log")


def open_page(driver, server: Server, name: str = "alice", colour: str = "blue") -> None:
    driver.get(f"http://127.0.0.1:{server.web_port}/")
    wait_for(driver, lambda: driver.find_element(By.ID, "join").is_enabled(), what="the Join button")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.CSS_SELECTOR, f"input[name=colour][value='{colour}']").click()
    driver.find_element(By.ID, "join").click()
    wait_for(driver, lambda: driver.find_element(By.ID, "chat").is_displayed(), what="the chat")


def say(driver, text: str) -> None:
    box = driver.find_element(By.ID, "say")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def screenshot(driver, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("CHATROOM_SCREENSHOTS", tmp_path))
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def console_problems(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def test_logging_in_and_chatting_both_ways_with_a_telnet_user(browser, server, tmp_path):
    open_page(browser, server, "alice", "blue")
    assert "Welcome, alice! You are online." in log_text(browser)
    assert browser.find_element(By.ID, "where").text == "alice in the lobby"
    telnet = Client(server.port).login("tom", "red")
    wait_for_line(browser, "tom joined the lobby.")
    telnet.send("hello from the terminal")
    wait_for_line(browser, "tom: hello from the terminal")
    spoken = browser.find_elements(By.CSS_SELECTOR, "#log li.said .name")[-1]
    assert spoken.text == "tom" and spoken.get_attribute("data-colour") == "red"
    say(browser, "hello from the browser")
    telnet.expect(r"\[\d\d:\d\d\] alice: hello from the browser\r\n")
    wait_for_line(browser, "alice: hello from the browser")
    assert browser.find_element(By.ID, "say").get_attribute("value") == ""
    assert browser.switch_to.active_element == browser.find_element(By.ID, "say")  # the input keeps focus
    assert panel(browser, "members") == ["alice", "tom"]
    telnet.send("/me waves from a terminal")
    telnet.send("/msg alice you can click my name to answer privately")
    wait_for_line(browser, "[private] tom -> alice: you can click my name to answer privately")
    assert "* tom waves from a terminal" in log_text(browser)
    screenshot(browser, "web-page", tmp_path)
    assert console_problems(browser) == []  # nothing refused by the page's own Content-Security-Policy


def test_a_refused_name_shows_its_reason_and_the_form_stays(browser, server):
    tom = Client(server.port).login("tom")  # noqa: F841 (kept: the name is taken while he is online)
    browser.get(f"http://127.0.0.1:{server.web_port}/")
    wait_for(browser, lambda: browser.find_element(By.ID, "join").is_enabled())
    browser.find_element(By.ID, "name").send_keys("TOM")
    browser.find_element(By.ID, "join").click()
    problem = browser.find_element(By.ID, "login-problem")
    wait_for(browser, lambda: problem.text == "The name 'TOM' is taken.", what="the refusal")
    assert browser.find_element(By.ID, "login").is_displayed()
    name = browser.find_element(By.ID, "name")
    name.clear()
    name.send_keys("alice")
    browser.find_element(By.ID, "join").click()
    wait_for(browser, lambda: browser.find_element(By.ID, "chat").is_displayed())


def test_choosing_a_room_in_the_side_panel_joins_it(browser, server):
    telnet = Client(server.port).login("tom")
    telnet.send("/join games")
    telnet.expect("You are in games, alone.")
    open_page(browser, server)
    wait_for(browser, lambda: panel(browser, "rooms") == ["lobby (1)", "games (1)"], what="both rooms, counted")
    click_in_panel(browser, "rooms", "games")
    telnet.expect("alice joined games.")
    wait_for(browser, lambda: browser.find_element(By.ID, "where").text == "alice in games")
    wait_for(browser, lambda: panel(browser, "rooms") == ["lobby (0)", "games (2)"], what="the counts after the move")
    members = lambda: panel(browser, "members")  # noqa: E731
    wait_for(browser, lambda: members() == ["tom (owner)", "alice"], what="who is in games, and who owns it")
    telnet.send("/leave")
    wait_for(browser, lambda: members() == ["alice (owner)"], what="tom gone, and the room passed to alice")


def test_choosing_a_person_starts_a_private_message(browser, server):
    telnet = Client(server.port).login("tom")
    open_page(browser, server)
    wait_for(browser, lambda: sorted(panel(browser, "members")) == ["alice", "tom"], what="both members")
    click_in_panel(browser, "members", "tom")
    box = browser.find_element(By.ID, "say")
    assert box.get_attribute("value") == "/msg tom "
    assert browser.switch_to.active_element == box
    box.send_keys("just between us", Keys.ENTER)
    telnet.expect(r"\[private\] alice -> tom: just between us")
    telnet.send("/reply got it")
    wait_for_line(browser, "[private] tom -> alice: got it")
    assert browser.find_elements(By.CSS_SELECTOR, "#log li.private")[-1].text.endswith("tom -> alice: got it")


def test_html_and_script_typed_by_a_telnet_user_are_shown_as_text(browser, server):
    open_page(browser, server)
    telnet = Client(server.port).login("mallory")
    attack = "<img src=x onerror=\"document.title='pwned'\"><script>window.pwned = 1</script><b>bold</b> &amp;"
    telnet.send(attack)
    wait_for_line(browser, "mallory: " + attack)
    assert browser.find_elements(By.CSS_SELECTOR, "#log img, #log script, #log b") == []
    assert browser.execute_script("return window.pwned === undefined && document.title === 'chatroom'")
    telnet.send("/nick <i>x</i>")
    telnet.expect("may use only letters")  # and names cannot carry markup at all


def test_a_line_that_mentions_you_stands_out(browser, server):
    open_page(browser, server, "alice")
    telnet = Client(server.port).login("tom")
    telnet.send("is Alice here?")
    telnet.send("malice is not a mention")
    wait_for_line(browser, "malice is not a mention")
    lines = browser.find_elements(By.CSS_SELECTOR, "#log li.said")
    mentioned = {line.text.split(": ", 1)[1]: "mention" in line.get_attribute("class") for line in lines[-2:]}
    assert mentioned == {"is Alice here?": True, "malice is not a mention": False}


def test_up_and_down_go_through_what_was_sent_and_tab_completes(browser, server):
    tomasz = Client(server.port).login("tomasz")  # noqa: F841 (kept online, so the page knows the name)
    open_page(browser, server)
    say(browser, "first line")
    say(browser, "second line")
    box = browser.find_element(By.ID, "say")
    box.send_keys(Keys.ARROW_UP)
    assert box.get_attribute("value") == "second line"
    box.send_keys(Keys.ARROW_UP)
    assert box.get_attribute("value") == "first line"
    box.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN)
    assert box.get_attribute("value") == ""
    box.send_keys("/jo", Keys.TAB)
    assert box.get_attribute("value") == "/join "
    box.clear()
    box.send_keys("hi tom", Keys.TAB)
    assert box.get_attribute("value") == "hi tomasz"


def test_a_page_in_the_background_counts_what_it_has_not_seen(browser, server):
    open_page(browser, server)
    telnet = Client(server.port).login("tom")
    wait_for_line(browser, "tom joined the lobby.")
    browser.minimize_window()  # the page goes to the background
    assert browser.execute_script("return document.visibilityState") == "hidden"
    telnet.send("one")
    telnet.send("two")
    wait_for(browser, lambda: browser.title == "(2) chatroom", what="the count in the title")
    browser.set_window_rect(width=DESKTOP[0], height=DESKTOP[1])
    wait_for(browser, lambda: browser.title == "chatroom", what="the count gone once the page is seen")
    assert "tom: two" in log_text(browser)


def test_the_server_restarting_is_told_and_the_page_comes_back_by_itself(browser, tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    first = Server(tmp_path / "1", web=LOCAL_WEB)
    web_port = first.web_port
    try:
        open_page(browser, first)
        say(browser, "/join games")
        wait_for(browser, lambda: browser.find_element(By.ID, "where").text == "alice in games")
        box = browser.find_element(By.ID, "say")
        box.send_keys("half-typed, not sent")
    finally:
        first.stop()
    status = browser.find_element(By.ID, "status")
    wait_for(browser, lambda: "Server is down, you are now disconnected" in status.text, what="the page says so")
    assert "The server is going down. Goodbye!" in log_text(browser)
    assert box.get_attribute("value") == "half-typed, not sent"
    second = Server(tmp_path / "2", web=f"tcp:{web_port}:interface=127.0.0.1")
    try:
        telnet = Client(second.port).login("tom")
        telnet.send("/join games")
        telnet.expect("You are in games")
        wait_for(browser, lambda: browser.find_element(By.ID, "where").text == "alice in games", timeout=20)
        telnet.expect("alice joined games.")
        assert box.get_attribute("value") == "half-typed, not sent"
        box.send_keys(Keys.ENTER)
        telnet.expect("alice: half-typed, not sent")
    finally:
        second.stop()


def test_after_a_short_drop_the_page_shows_what_it_missed_and_nothing_twice(browser, server):
    open_page(browser, server)
    telnet = Client(server.port).login("tom")
    telnet.send("before the drop")
    wait_for_line(browser, "tom: before the drop")
    browser.execute_script("page.socket.close()")  # the Wi-Fi blinks
    telnet.expect("alice left the chat.")
    telnet.send("while you were away")
    telnet.expect("alice joined the lobby.", timeout=15)
    wait_for_line(browser, "tom: while you were away")
    text = log_text(browser)
    assert text.count("tom: before the drop") == 1
    assert text.count("tom: while you were away") == 1


def test_a_phone_sized_screen_folds_the_panel_away(browser, server, tmp_path):
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True},
    )
    telnet = Client(server.port).login("tom")
    open_page(browser, server, "alice", "purple")
    telnet.send("hello, phone")
    wait_for_line(browser, "tom: hello, phone")
    side, toggle = browser.find_element(By.ID, "side"), browser.find_element(By.ID, "side-toggle")
    assert not side.is_displayed() and toggle.is_displayed()
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(browser, "web-page-phone", tmp_path)
    toggle.click()
    assert side.is_displayed()
    assert toggle.get_attribute("aria-expanded") == "true"
    browser.find_element(By.ID, "say").send_keys(Keys.ESCAPE)
    assert not side.is_displayed()


def test_the_log_is_announced_to_screen_readers(browser, server):
    open_page(browser, server)
    log = browser.find_element(By.ID, "log")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    assert browser.find_element(By.CSS_SELECTOR, "label[for=say]").get_attribute("textContent")


def test_web_addresses_in_a_line_are_links_and_nothing_else_becomes_markup(browser, server):
    open_page(browser, server)
    telnet = Client(server.port).login("tom")
    home = f"http://127.0.0.1:{server.web_port}/"
    line = (
        f"see https://example.org/a_(b)?c=1&d=2. or ({home}), not javascript:alert(1) "
        "nor <b>bold</b>, data:text/html,x, ftp://example.org or xhttps://example.org"
    )
    telnet.send(line)
    wait_for_line(browser, "tom: " + line)
    links = browser.execute_script(
        "return [...document.querySelectorAll('#log a')]"
        ".map(a => [a.textContent, a.getAttribute('href'), a.rel, a.target])"
    )
    assert links == [
        ["https://example.org/a_(b)?c=1&d=2", "https://example.org/a_(b)?c=1&d=2", "noopener noreferrer", "_blank"],
        [home, home, "noopener noreferrer", "_blank"],
    ]
    assert browser.find_elements(By.CSS_SELECTOR, "#log b") == []
    assert browser.find_elements(By.CSS_SELECTOR, "#log li.said")[-1].text.endswith("tom: " + line)

    browser.find_element(By.LINK_TEXT, home).click()  # it opens in a new tab, which cannot reach back to this one
    wait_for(browser, lambda: len(browser.window_handles) == 2, what="a new tab")
    chat = browser.current_window_handle
    browser.switch_to.window(next(handle for handle in browser.window_handles if handle != chat))
    try:
        wait_for(browser, lambda: browser.current_url == home and browser.title == "chatroom", what="the page opened")
        assert browser.execute_script("return window.opener === null")
    finally:
        browser.close()
        browser.switch_to.window(chat)


# Where each word of the last line said is across the screen: its left and right edges, in pixels.
WORDS_ACROSS = """
const li = [...document.querySelectorAll('#log li.said')].pop();
const walker = document.createTreeWalker(li, NodeFilter.SHOW_TEXT);
const words = {};
for (let node; (node = walker.nextNode()); ) {
  for (const word of node.data.matchAll(/\\S+/g)) {
    const range = document.createRange();
    range.setStart(node, word.index);
    range.setEnd(node, word.index + word[0].length);
    const box = range.getBoundingClientRect();
    words[word[0].startsWith("[") ? "time" : word[0]] = [box.left, box.right];
  }
}
return words;
"""


def left_to_right(words: dict, *order: str) -> bool:
    """Whether the words in `order` are shown in that order from left to right, none overlapping."""
    return all(words[one][1] <= words[other][0] + 0.5 for one, other in zip(order, order[1:], strict=False))


def test_a_right_to_left_line_keeps_the_time_and_the_name_before_what_was_said(browser, server, tmp_path):
    dani = Client(server.port).login("דני", "green")
    open_page(browser, server)
    dani.send("שלום לכולם")
    wait_for_line(browser, "שלום לכולם")
    words = browser.execute_script(WORDS_ACROSS)
    # The time, the name and its colon read from the left; the Hebrew words from the right, within their own place.
    assert left_to_right(words, "time", "דני", ":", "לכולם", "שלום"), words

    dani.send("לכולם: https://example.org/שלום 2")  # an address in a right-to-left line
    wait_for_line(browser, "https://example.org/שלום 2")
    assert left_to_right(browser.execute_script(WORDS_ACROSS), "time", "דני", ":"), words
    https, shalom = browser.execute_script(
        """const text = [...document.querySelectorAll('#log a')].pop().firstChild;
        return [[0, 5], [text.length - 4, text.length]].map(([start, end]) => {
          const range = document.createRange();
          range.setStart(text, start);
          range.setEnd(text, end);
          const box = range.getBoundingClientRect();
          return [box.left, box.right];
        });"""
    )
    assert https[1] <= shalom[0], "the address reads from the left"
    dani.send("\u2069\u202eזה שלי\u2066")  # bidirectional controls typed to reorder the line: removed
    wait_for_line(browser, "דני: זה שלי")
    assert not re.search("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", log_text(browser))
    path = screenshot(browser, "web-page-right-to-left", tmp_path)
    assert path.stat().st_size > 0
    assert console_problems(browser) == []
