"""chatroom-client: the bundled terminal client.

The pure parts know nothing of sockets or terminals and are tested by calling
them: `server_text` (what may be shown), `events` (what the server's lines
mean), `login` (answering the prompts, the password's too), `conversation`
(who and where we are, across reconnects), `completion` and `backoff`. Around
them: `connection` (a thin asyncio line connection), `terminal`
(prompt_toolkit), `pipe` (stdin to stdout), `transcript` (`--log FILE`,
through loguru) and `cli` (the command line).
"""
