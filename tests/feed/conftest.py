import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_redis.executor.process import RedisExecutor


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_server(tmp_path_factory) -> Iterator[RedisExecutor]:
    """A real redis-server on loopback with an append-only file, so a restart keeps the stream."""
    executable = shutil.which("redis-server")
    assert executable, "redis-server is not installed: run `make test` (it installs Debian's redis-server)"
    datadir = Path(tmp_path_factory.mktemp("redis"))
    executor = RedisExecutor(
        executable,
        databases=4,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=_free_port(),
        startup_timeout=30,
        save="",
        daemonize="no",
        rdbcompression=True,
        rdbchecksum=False,
        syslog_enabled=False,
        appendonly="yes",
        datadir=datadir,
    )
    executor.start()
    yield executor
    executor.stop()
