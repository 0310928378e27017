"""`python -m chatroom.client`, the same as `chatroom-client`."""

import sys

from chatroom.client.cli import main

sys.exit(main())
