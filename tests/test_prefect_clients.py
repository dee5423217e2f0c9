"""Prefect API clients share their TLS context (flows.prefect_clients)."""

import os
import shutil
import ssl
import types

import certifi
from prefect.client.orchestration import PrefectClient, SyncPrefectClient

import flows.build  # noqa: F401  (installs the shared contexts, as in a Dask worker that imports it)
from flows.prefect_clients import SharedContexts, share_tls_contexts


def test_the_api_clients_of_a_process_share_one_verified_context(monkeypatch):
    made = []
    original = ssl.create_default_context

    def counted(*args, **kwargs):
        made.append(kwargs.get("cafile"))
        return original(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted)
    share_tls_contexts()  # a second call changes nothing
    clients = [SyncPrefectClient("http://127.0.0.1:9/api"), SyncPrefectClient("http://127.0.0.1:9/api"),
               PrefectClient("http://127.0.0.1:9/api")]
    contexts = {id(c._client._transport._pool._ssl_context) for c in clients}
    # the CA bundle (Prefect's setting, else certifi's) was read once at most: none when an
    # earlier test of this process made its context
    assert len(made) <= 1 and None not in made
    assert len(contexts) == 1


def test_a_shared_context_verifies_and_follows_its_ca_file(tmp_path):
    bundle = tmp_path / "ca.pem"
    shutil.copy(certifi.where(), bundle)
    shared = SharedContexts()
    first = shared.create_default_context(cafile=str(bundle))
    assert shared.create_default_context(cafile=str(bundle)) is first
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    assert first.cert_store_stats()["x509_ca"] > 0
    stat = bundle.stat()
    os.utime(bundle, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert shared.create_default_context(cafile=str(bundle)) is not first  # the file changed: read again


def test_contexts_without_a_ca_file_are_made_each_time():
    """Prefect alters its unverified context after making it: never shared."""
    shared = SharedContexts()
    assert shared.create_default_context() is not shared.create_default_context()
    assert shared.CERT_NONE == ssl.CERT_NONE  # every other name is the ssl module's


def test_the_settings_are_dumped_once_per_context():
    """`SettingsDumps` gives Prefect's own dump of a settings context, made
    once for that context; another context, or the dump without secrets,
    is made apart."""
    from prefect.context import SettingsContext

    from flows.prefect_clients import SettingsDumps

    made = []

    def serialize(context, include_secrets=True):
        made.append(include_secrets)
        return SettingsContext.__mro__[1].serialize(context, include_secrets) | {"n": len(made)}

    dumps = SettingsDumps(serialize)
    context = SettingsContext.get()
    first = dumps(context)
    assert dumps(context) is first and made == [True]
    assert {k: v for k, v in first.items() if k != "n"} == SettingsContext.__mro__[1].serialize(context)
    assert dumps(context, include_secrets=False) is not first and made == [True, False]
    other = SettingsContext(profile=context.profile, settings=context.settings.model_copy())
    assert dumps(other)["n"] == 3
    for _ in range(SettingsDumps.HELD):  # a long-lived process: the oldest dumps go
        dumps(SettingsContext(profile=context.profile, settings=context.settings.model_copy()))
    assert dumps(context)["n"] == len(made) == 3 + SettingsDumps.HELD + 1


def test_task_runs_are_submitted_to_dask_under_random_names(monkeypatch):
    """Once `submit_task_runs_cheaply` ran (the build's Dask runner does),
    the settings context serializes through `SettingsDumps` and a Prefect
    task run reaches Dask's `Client.submit` with pure=False: Dask draws
    its future's name instead of hashing the arguments.  Other functions
    keep Dask's default."""
    import distributed
    from prefect import task
    from prefect.context import SettingsContext
    from prefect_dask.client import PrefectDaskClient

    from flows.build import task_runner
    from flows.prefect_clients import SettingsDumps, submit_task_runs_cheaply

    task_runner(local_cluster=1)  # installs it (the cluster starts only with a flow run)
    submit_task_runs_cheaply()  # again: a no-op
    assert isinstance(SettingsContext.__dict__["serialize"], SettingsDumps)
    sent = []
    monkeypatch.setattr(distributed.Client, "submit",
                        lambda self, func, *args, **kwargs: sent.append(kwargs) or types.SimpleNamespace())

    @task
    def double(x: int) -> int:
        return 2 * x

    client = object.__new__(PrefectDaskClient)
    client.submit(double, parameters={"x": 1}, return_type="state")
    client.submit(len, [1, 2])
    assert sent[0]["pure"] is False
    assert sent[1].get("pure", True) is True
    dumps = SettingsContext.__dict__["serialize"]
    assert sent[0]["context"]["settings_context"] == dumps.serialize(SettingsContext.get())  # Prefect's own


def test_contexts_from_one_settings_dump_share_the_settings_it_makes(monkeypatch):
    """A Dask worker rebuilds the settings context of every task run from
    its dump (`SettingsContext(**dump)`): since `flows.build` is imported,
    contexts from the same dump, environment and working directory share
    one settings model, the one Prefect makes from it; another PREFECT_*
    variable makes another, which reads it."""
    from prefect.context import SettingsContext
    from prefect.settings.models.root import Settings

    from flows.prefect_clients import SettingsModels, hydrate_settings_once

    hydrate_settings_once()  # again: a no-op
    assert isinstance(SettingsContext.__dict__["__init__"], SettingsModels)
    dump = SettingsContext.get().serialize()
    assert "max_retries" not in dump["settings"].get("client", {})
    first, again = SettingsContext(**dump), SettingsContext(**dump)
    assert first is not again and first.settings is again.settings
    assert first.settings.model_dump() == Settings(**dump["settings"]).model_dump()
    assert first.profile == SettingsContext.get().profile
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "7")
    other = SettingsContext(**dump)
    assert other.settings is not first.settings and other.settings.client.max_retries == 7
    made = SettingsContext(profile=first.profile, settings=first.settings)  # a model, not a dump: as it is
    assert made.settings is first.settings
