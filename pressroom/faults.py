"""Named points where a test may kill the process, to prove crash safety.

`checkpoint("before-rename")` does nothing unless the environment variable
`PRESSROOM_CRASH_AT` names that point: then the process sends itself
SIGKILL there, exactly as `kill -9` would.  The crash-safety tests run real
builds and publishes in a subprocess with this variable set.
"""

from __future__ import annotations

import os
import signal

POINTS = ("processing", "writing-tables", "before-rename", "mid-upload")


def checkpoint(name: str) -> None:
    if os.environ.get("PRESSROOM_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
