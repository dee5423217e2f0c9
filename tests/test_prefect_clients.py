"""Prefect API clients share their TLS context (flows.prefect_clients)."""

import os
import shutil
import ssl

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
