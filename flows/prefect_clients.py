"""Prefect API clients that share their TLS context.

Prefect 3.8 makes a new `ssl.SSLContext` for every API client it opens
(`PrefectClient` and `SyncPrefectClient.__init__` call
`ssl.create_default_context(cafile=...)`, which reads and parses the whole
CA bundle, ~25 ms here), even for a plain-http API.  A shard task run on a
Dask worker opens several: with its contexts made once, a task run's
bookkeeping on the worker went from 127-185 ms of CPU to 76-98 ms
(measured 2026-11-25, `bench/task_overhead.py`: no-op tasks on a local
cluster of one worker).  httpx itself advises one context shared by its
clients; Prefect's PR #19106 (open) would let a caller hand one in.

`share_tls_contexts` puts a stand-in for the `ssl` module into Prefect's
client module.  Its `create_default_context` returns one context per
purpose and CA file (and the file's size and modification time), made on
first use; a call without a CA file (Prefect's unverified context, which
it alters after) and every other name go to `ssl` itself.  Verification is
unchanged: the same CA file, the same defaults.
"""

from __future__ import annotations

import os
import ssl
import threading
from types import ModuleType


class SharedContexts:
    """The `ssl` module, but for verified default contexts made once each."""

    def __init__(self, module: ModuleType = ssl):
        self._ssl = module
        self._made: dict[tuple, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        return getattr(self._ssl, name)

    def create_default_context(self, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH, *, cafile=None, capath=None,
                               cadata=None) -> ssl.SSLContext:
        if cafile is None or capath is not None or cadata is not None:
            return self._ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)
        found = os.stat(cafile)
        at = (purpose, os.fspath(cafile), found.st_size, found.st_mtime_ns)
        with self._lock:
            if at not in self._made:
                self._made[at] = self._ssl.create_default_context(purpose, cafile=cafile)
            return self._made[at]


def share_tls_contexts() -> None:
    """Make the Prefect API clients of this process share their TLS
    contexts (once per process; again is a no-op)."""
    import prefect.client.orchestration as clients

    if not isinstance(clients.ssl, SharedContexts):
        clients.ssl = SharedContexts(clients.ssl)
