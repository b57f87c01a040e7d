"""pytest plugin: MLflow's own server tests, run unmodified, against Cairn's local server.

MLflow's test modules start their server through three names: ``ServerThread`` and ``_init_server`` in
``tests/tracking/integration_test_utils.py`` (imported by name into the test modules, so they are replaced
here before any test module is imported) and ``_launch_server`` in ``test_mlflow_artifacts.py`` (looked up
as a module global when its fixture runs, so it is replaced once that module is collected). Each
replacement starts ``node bin/cairn.mjs server`` on the port MLflow's fixture chose, with a fresh
``--data-dir``, and stops it (its process only) when the fixture ends. Everything else in the tests,
including MLflow's own in-process store setup, runs as written: its in-process server is simply never
started.

Load with ``-p cairn_server_plugin`` and this folder on PYTHONPATH (see run.sh).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

CAIRN_ROOT = Path(os.environ.get("CAIRN_ROOT", Path(__file__).resolve().parents[2]))
STARTUP_TIMEOUT_S = 60.0


class CairnServer:
    """One `cairn server` process on a fresh data directory."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.data_dir = tempfile.mkdtemp(prefix="cairn-mlflow-suite-")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        log = open(os.path.join(self.data_dir, "server.log"), "wb")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            ["node", "bin/cairn.mjs", "server", "--port", str(self.port), "--data-dir", self.data_dir],
            cwd=CAIRN_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # its own process group, so stop() ends exactly this server and nothing else
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cairn server exited during start-up; log in {self.data_dir}/server.log")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as r:
                    if r.status == 200:
                        return self.url
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"cairn server did not answer /health within {STARTUP_TIMEOUT_S} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if os.environ.get("CAIRN_SUITE_KEEP_DATA") != "1":
            shutil.rmtree(self.data_dir, ignore_errors=True)


class CairnServerThread:
    """Stands in for integration_test_utils.ServerThread(app, port): the app argument is MLflow's server."""

    def __init__(self, app: Any, port: int) -> None:
        self._server = CairnServer(port)
        self.url = self._server.url

    def __enter__(self) -> str:
        return self._server.start()

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


@contextlib.contextmanager
def cairn_init_server(
    backend_uri: str, root_artifact_uri: str, extra_env: Any = None, app: Any = None, server_type: str = "fastapi"
) -> Iterator[str]:
    import mlflow
    from tests.helper_functions import get_safe_port

    mlflow.set_tracking_uri(None)
    server = CairnServer(get_safe_port())
    try:
        yield server.start()
    finally:
        server.stop()


@contextlib.contextmanager
def cairn_launch_server(
    host: str, port: int, backend_store_uri: str, default_artifact_root: str, artifacts_destination: str
) -> Iterator[subprocess.Popen[bytes] | None]:
    server = CairnServer(port)
    try:
        server.start()
        yield server.proc
    finally:
        server.stop()


def pytest_configure(config: pytest.Config) -> None:
    # Before collection: the test modules import these two names from here.
    import tests.tracking.integration_test_utils as utils

    utils.ServerThread = CairnServerThread  # type: ignore[misc, assignment]
    utils._init_server = cairn_init_server  # type: ignore[assignment]


def _no_databricks_sdk() -> Iterator[None]:
    yield


def _known_not_portable() -> dict[str, str]:
    listed: dict[str, str] = {}
    for line in (Path(__file__).parent / "not-portable.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            reason, name = line.split()
            listed[name] = reason
    return listed


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SKIP_KNOWN") == "1":
        known = _known_not_portable()
        kept = [item for item in items if item.originalname not in known]  # type: ignore[attr-defined]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
    # tests/conftest.py patches databricks-sdk for the whole session; the SDK is not installed here (no wheel
    # for it on this machine) and nothing these tests do reaches Databricks.
    for fixturedef in session._fixturemanager._arg2fixturedefs.get("_mock_databricks_host_metadata", []):
        fixturedef.func = _no_databricks_sdk  # type: ignore[misc]
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "_launch_server"):
            module._launch_server = cairn_launch_server
