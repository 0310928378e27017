"""Logging in on the page with a registered name, in Debian's Chromium against a real twistd: the password
field, a name changed at it, and three wrong passwords.
"""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from test_web_page import (  # noqa: F401 (browser and chromium are the fixtures of the browser tests)
    LOCAL_WEB,
    browser,
    chromium,
    console_problems,
    wait_for,
)

WAIT = 20  # seconds: Argon2id is slow on purpose, and the machine is shared
PASSWORD = "Page-Login-2718"


def form(driver) -> dict:
    """What the login form shows, read in one step."""
    return driver.execute_script(
        """const shown = (id) => !document.getElementById(id).hidden;
        return {problem: document.getElementById("login-problem").textContent,
                password: shown("password-part"), colours: shown("colours"), chat: shown("chat"),
                join: !document.getElementById("join").disabled,
                status: shown("status") ? document.getElementById("status").textContent : ""};"""
    )


def ask_for_password(driver, port: int, name: str) -> None:
    driver.get(f"http://127.0.0.1:{port}/")
    wait_for(driver, lambda: form(driver)["join"], WAIT, "the Join button")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "join").click()
    wait_for(driver, lambda: form(driver)["password"] and form(driver)["join"], WAIT, "the password field")


def wrong_passwords(lab) -> int:
    return lab.log.read_text(encoding="utf-8").count("wrong password for")


def test_another_name_typed_at_the_password_prompt_logs_in_with_it_and_sends_no_password(browser, lab):  # noqa: F811
    server = lab.start(web=LOCAL_WEB)
    lab.register("alice", PASSWORD)
    ask_for_password(browser, server.web_port, "alice")

    browser.find_element(By.ID, "join").click()  # no password typed: nothing is sent
    wait_for(browser, lambda: form(browser)["problem"] == "Type the password for alice first.", WAIT, "the hint")

    name = browser.find_element(By.ID, "name")
    name.send_keys("2")  # not alice after all
    assert not form(browser)["password"] and form(browser)["colours"]  # alice's password field goes
    browser.find_element(By.CSS_SELECTOR, "input[name=colour][value='green']").click()
    browser.find_element(By.ID, "join").click()
    wait_for(browser, lambda: form(browser)["chat"], WAIT, "the chat, as alice2")
    wait_for(browser, lambda: browser.find_element(By.ID, "where").text == "alice2 in the lobby", WAIT, "alice2")
    assert browser.find_element(By.CSS_SELECTOR, "#members .name").get_attribute("data-colour") == "green"
    assert wrong_passwords(lab) == 0
    assert console_problems(browser) == []


def test_after_three_wrong_passwords_the_page_says_why_and_enter_comes_back(browser, lab):  # noqa: F811
    server = lab.start(web=LOCAL_WEB)
    lab.register("alice", PASSWORD)
    ask_for_password(browser, server.web_port, "alice")
    field = browser.find_element(By.ID, "password")
    for attempt in (1, 2):
        field.send_keys(f"not-it-{attempt}", Keys.ENTER)
        wait_for(browser, lambda n=attempt: wrong_passwords(lab) == n, WAIT, f"wrong password {attempt} logged")
        wait_for(browser, lambda: form(browser)["problem"] == "Wrong password for alice.", WAIT, "the refusal")
        wait_for(browser, lambda: form(browser)["join"], WAIT, "Join again")
    field.send_keys("not-it-3", Keys.ENTER)
    wait_for(
        browser,
        lambda: (
            form(browser)
            == {
                "problem": "Three wrong passwords for alice. Goodbye!",
                "password": False,
                "colours": True,
                "chat": False,
                "join": True,
                "status": "You are disconnected. Press Enter (or Join) to come back.",
            }
        ),
        WAIT,
        "the reason, and the form ready to come back",
    )

    browser.find_element(By.ID, "name").send_keys(Keys.ENTER)  # as the page says
    wait_for(browser, lambda: form(browser)["password"] and form(browser)["join"], WAIT, "asked again")
    browser.find_element(By.ID, "password").send_keys(PASSWORD, Keys.ENTER)
    wait_for(browser, lambda: browser.find_element(By.ID, "where").text == "alice in the lobby", WAIT, "alice in")
    assert wrong_passwords(lab) == 3
    assert console_problems(browser) == []
