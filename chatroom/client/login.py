"""Answering the server's login prompts (name, colour, password) for the person, when told the answers in advance."""

from __future__ import annotations

from chatroom.client.events import (
    ColourPrompt,
    ColourRefused,
    Event,
    NamePrompt,
    Notice,
    PasswordPrompt,
    Welcome,
    WrongPassword,
)

NAME = "name"
COLOUR = "colour"
PASSWORD = "password"


class Login:
    """One login conversation: which prompt is open, and whether the person or the client answers it.

    `name`, `colour` and `password` are the answers given in advance; None
    leaves that prompt to the person, and a colour of "" lets the server pick
    one. Each answer is given once: if the server asks again (the name was
    taken or refused, the password was wrong) or refuses the colour, the person
    must answer, and `refusal` says what the server said. `wrong_password`
    is the name whose password the server refused, whoever typed it.
    """

    def __init__(self, name: str | None = None, colour: str | None = None, password: str | None = None):
        self.answers = {NAME: name, COLOUR: colour, PASSWORD: password}
        self.asking: str | None = None  # the prompt that is open, if any
        self.person_must_answer = False
        self.done = False
        self.refusal: str | None = None
        self.wrong_password: str | None = None
        self._given: set[str] = set()
        self._notices = ("", "")  # the last two, for the reason a prompt came again

    def hear(self, event: Event) -> str | None:
        """Follow one event from the server; return the line to send for the person, if any."""
        match event:
            case NamePrompt():
                return self._prompt(NAME)
            case ColourPrompt():
                return self._prompt(COLOUR)
            case PasswordPrompt():
                return self._prompt(PASSWORD)
            case WrongPassword(name):
                self.wrong_password = name
            case ColourRefused(reason):  # the colour prompt stays open; it is not asked again
                if COLOUR in self._given:
                    self.refusal = reason
                self.person_must_answer = True
            case Welcome():
                self.asking, self.person_must_answer, self.done = None, False, True
            case Notice(text):
                self._notices = (self._notices[1], text)
        return None

    @property
    def gave_password(self) -> bool:
        """Whether the client, not the person, answered the password prompt."""
        return PASSWORD in self._given

    def person_answered(self) -> None:
        """The person sent a line: it answers the open prompt, so the next line waits for the next prompt."""
        if not self.done:
            self.person_must_answer = False

    def _prompt(self, which: str) -> str | None:
        self.asking = which
        answer = self.answers[which]
        if which in self._given:  # asked again: our answer was refused, and the line before says why
            self.refusal = self._notices[0]
        elif answer is not None:
            self._given.add(which)
            self.person_must_answer = False
            return answer
        self.person_must_answer = True
        return None
