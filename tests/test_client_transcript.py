"""The transcript `--log FILE` writes: real files through loguru, read back."""

from __future__ import annotations

import os
import re
import time

import pytest
from loguru import logger

from chatroom.client.transcript import Transcript

STAMPED = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (.*)")


@pytest.fixture
def transcripts():
    opened: list[Transcript] = []

    def open_transcript(path) -> Transcript:
        opened.append(Transcript(path))
        return opened[-1]

    yield open_transcript
    for transcript in opened:
        transcript.close()


def test_each_line_is_written_as_shown_with_the_date_and_time_and_no_escape_codes(transcripts, tmp_path):
    path = tmp_path / "session.log"
    before = time.strftime("%Y-%m-%d %H:%M:%S")
    transcript = transcripts(path)
    transcript.server_line("\x1b[1m***\x1b[0m Welcome, \x1b[38;5;33malice\x1b[0m! You are online.")
    transcript.server_line("[14:03] \x1b[38;5;40mbob\x1b[0m: {0} <red>not markup</red> \x1b]0;title\x07")
    transcript.client_line("Server is down, you are now disconnected.")
    transcript.echo("/join games")
    transcript.close()
    after = time.strftime("%Y-%m-%d %H:%M:%S")
    written = path.read_text(encoding="utf-8").splitlines()
    stamps = [STAMPED.fullmatch(line) for line in written]
    assert all(stamps), written
    assert all(before <= stamp.group(1) <= after for stamp in stamps)
    assert [stamp.group(2) for stamp in stamps] == [
        "*** Welcome, alice! You are online.",
        "[14:03] bob: {0} <red>not markup</red> ",
        "-- Server is down, you are now disconnected.",
        "> /join games",
    ]
    assert "\x1b" not in path.read_text(encoding="utf-8")


def test_nothing_else_that_logs_through_loguru_reaches_it(transcripts, tmp_path):
    first, second = transcripts(tmp_path / "first.log"), transcripts(tmp_path / "second.log")
    first.client_line("one")
    logger.bind(event="login").info("the server's own log line")
    second.client_line("two")
    assert (tmp_path / "first.log").read_text().endswith(" -- one\n")
    assert (tmp_path / "second.log").read_text().endswith(" -- two\n")
    assert "server's own" not in (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()


def test_it_is_rotated_at_500_kb_and_rotated_files_older_than_a_week_are_deleted(transcripts, tmp_path):
    stale = tmp_path / "session.2020-01-01_00-00-00_000000.log"  # a rotated file from long ago
    stale.write_text("old\n")
    a_week_and_a_day = time.time() - 8 * 24 * 3600
    os.utime(stale, (a_week_and_a_day, a_week_and_a_day))
    transcript = transcripts(tmp_path / "session.log")
    line = "x" * 976  # with its date and time, "-- " and its newline: 1000 bytes
    for _ in range(500):
        transcript.client_line(line)
    assert stale.exists() and len(list(tmp_path.iterdir())) == 2  # 500,000 bytes: not over the limit yet
    transcript.client_line(line)
    assert not stale.exists()  # deleted when the file rotated
    transcript.close()
    files = sorted(tmp_path.iterdir())
    assert len(files) == 2
    sizes = {path.name: path.stat().st_size for path in files}
    assert sizes.pop("session.log") == 1000  # the line past 500,000 bytes began a new file
    assert list(sizes.values()) == [500_000]


def test_a_file_that_cannot_be_written_fails_at_once(tmp_path):
    (tmp_path / "plain file").write_text("")
    with pytest.raises(OSError):
        Transcript(tmp_path / "plain file" / "session.log")


def test_without_a_file_nothing_is_written(tmp_path):
    transcript = Transcript()
    transcript.server_line("*** hello")
    transcript.close()
    assert list(tmp_path.iterdir()) == []
