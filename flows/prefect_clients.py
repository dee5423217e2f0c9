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

import functools
import json
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


# -- submitting a task run to Dask ------------------------------------------------------
#
# `prefect_dask`'s client serializes the flow's contexts for every task run
# it submits (`prefect.context.serialize_context`), and the settings context
# is a pydantic dump of every Prefect setting walked again with
# `visit_collection`: 44 ms per task run on a quiet machine, 140 ms while the
# workers are busy (py-spy of a 200 MB rebuild on two workers: 2.1 of the
# flow's 3.5 s of submission).  The settings of one context do not change,
# so their dump is made once per context.  Dask then tokenizes the task run's
# arguments to name its future (`pure=True`, the default); a Prefect task run
# carries its own unique id, so the name is drawn at random instead.


class Recent:
    """Values made by key, the last `held` kept (the oldest go first);
    safe across threads (two threads may make the same value once each)."""

    def __init__(self, held: int = 8):
        self.held = held
        self._made: dict = {}
        self._lock = threading.Lock()

    def get(self, key, make):
        with self._lock:
            if key in self._made:
                return self._made[key]
        value = make()
        with self._lock:
            self._made[key] = value
            while len(self._made) > self.held:
                del self._made[next(iter(self._made))]
        return value


class Method:
    """A callable object set on a class in place of one of its methods:
    read from an instance, it is bound to it, as the method was."""

    def __get__(self, instance, owner=None):
        return self if instance is None else functools.partial(self, instance)


class SettingsDumps(Method):
    """`SettingsContext.serialize`, made once per (context, settings,
    profile, include_secrets); the contexts are kept with their dump, so an
    id is never reused while cached.  A few contexts at most live in a flow
    run; a long-lived process (`flow.serve`) keeps the last `HELD`."""

    HELD = 8

    def __init__(self, serialize):
        self.serialize = serialize  # Prefect's own
        self._made = Recent(self.HELD)

    def __call__(self, context, include_secrets: bool = True) -> dict:
        at = (id(context), id(context.settings), id(context.profile), include_secrets)
        held = self._made.get(at, lambda: (context, context.settings, context.profile,
                                           self.serialize(context, include_secrets)))
        return held[3]


def submit_task_runs_cheaply() -> None:
    """Make this process's Prefect task runs cheaper to submit to Dask:
    the settings context dumped once (`SettingsDumps`) and no tokenizing of
    a task run's arguments (once per process; again is a no-op)."""
    from prefect.context import SettingsContext
    from prefect.tasks import Task
    from prefect_dask.client import PrefectDaskClient

    if not isinstance(SettingsContext.__dict__.get("serialize"), SettingsDumps):
        SettingsContext.serialize = SettingsDumps(SettingsContext.serialize)
    submit = PrefectDaskClient.submit
    if getattr(submit, "unhashed", False):
        return

    @functools.wraps(submit)
    def unhashed(self, func, *args, **kwargs):
        if isinstance(func, Task) and kwargs.get("key") is None:
            kwargs["pure"] = False  # the future's name: random, not a hash of the arguments
        return submit(self, func, *args, **kwargs)

    unhashed.unhashed = True
    PrefectDaskClient.submit = unhashed


# -- running a task run on a Dask worker ------------------------------------------------
#
# The worker rebuilds the settings for every task run it runs
# (`prefect.context.hydrated_context`: `SettingsContext(**serialized)`),
# and `Settings` is a pydantic-settings model: made from the dump, it reads
# the environment, `.env`, `prefect.toml` and `pyproject.toml` again, 79 ms
# a time here, ~85% of a no-op task run's CPU in the worker (py-spy of
# `bench/task_overhead.py`'s worker).  The same dump in the same
# environment makes the same settings: they are made once per dump, the
# process's PREFECT_* variables and its working directory (where those
# files are read from).


class SettingsModels(Method):
    """`SettingsContext.__init__`, its "settings" made once (`Settings`
    from the same dump, PREFECT_* variables and working directory) and
    shared by the contexts made from it; the last `HELD` kept."""

    HELD = 8

    def __init__(self, init, settings_type):
        self.init = init  # pydantic's own
        self.settings_type = settings_type
        self._made = Recent(self.HELD)

    def __call__(self, context, /, **data) -> None:
        if isinstance(data.get("settings"), dict):
            data["settings"] = self.settings(data["settings"])
        self.init(context, **data)

    def settings(self, dump: dict):
        environment = sorted((k, v) for k, v in os.environ.items() if k.startswith("PREFECT_"))
        at = (json.dumps(dump, sort_keys=True, default=str), tuple(environment), os.getcwd())
        return self._made.get(at, lambda: self.settings_type(**dump))


def hydrate_settings_once() -> None:
    """Make this process's task runs share the settings their contexts
    rebuild from one dump (`SettingsModels`; once per process, again is a
    no-op).  For Dask workers: they rebuild them for every task run."""
    from prefect.context import SettingsContext
    from prefect.settings.models.root import Settings

    if not isinstance(SettingsContext.__dict__.get("__init__"), SettingsModels):
        SettingsContext.__init__ = SettingsModels(SettingsContext.__init__, Settings)
