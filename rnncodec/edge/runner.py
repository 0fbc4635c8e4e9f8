"""Running the server: in worker processes (``rnc serve``), or in a thread of this process.

:func:`serve` hands the application to uvicorn as a factory, so that each of ``workers`` processes
builds it (and loads the models) once.  :class:`BackgroundServer` runs it on a loopback port in a
background thread — for tests, notebooks and benchmarks — and stops it on exit.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from .config import CONFIG_ENV, ServerConfig

__all__ = ["serve", "uvicorn_options", "BackgroundServer"]

#: Seconds open connections get to finish when the server stops, before they are cut.
GRACEFUL_SHUTDOWN_S = 5


def uvicorn_options(config: ServerConfig) -> dict[str, Any]:
    """uvicorn settings that follow from ``config``: a WebSocket frame may carry a whole body; a
    request's headers must come within ``header_timeout`` (:mod:`.connections`), which is also how
    long an idle keep-alive connection stays open."""
    from .connections import HeadTimeoutProtocol

    return {"ws_max_size": config.max_body_bytes + 1024, "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_S,
            "http": HeadTimeoutProtocol, "timeout_keep_alive": config.header_timeout}


def serve(config: ServerConfig, *, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
          log_level: str = "info") -> None:
    """Serve until interrupted: ``workers`` processes, each loading the models once.

    One worker runs in this process and loads the models before listening, so a missing weights
    file raises here; several are uvicorn's worker processes, each building the application from
    the configuration in :data:`CONFIG_ENV`.
    """
    import uvicorn

    options = dict(host=host, port=port, log_level=log_level, **uvicorn_options(config))
    if workers == 1:
        from .app import create_app
        from .engine import Engine

        engine = Engine(config)
        try:
            uvicorn.run(create_app(engine=engine), **options)
        finally:
            engine.close()
        return
    os.environ[CONFIG_ENV] = config.to_json()
    uvicorn.run("rnncodec.edge.app:create_app", factory=True, workers=workers, **options)


class BackgroundServer:
    """The application served from a thread of this process, on ``host`` and a free port.

    ::

        with BackgroundServer(ServerConfig(...)) as server:
            EdgeClient(server.url).send("photo.rnc")

    Args:
        config: the settings; the models load here, so a missing weights file raises here.
        host, port: where to listen (port 0: any free port; :attr:`url` tells which).
    """

    def __init__(self, config: ServerConfig, *, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning") -> None:
        import uvicorn

        from .app import create_app
        from .engine import Engine

        self.engine = Engine(config)
        self.server = uvicorn.Server(uvicorn.Config(create_app(engine=self.engine), host=host, port=port,
                                                    log_level=log_level, **uvicorn_options(config)))
        self._thread = threading.Thread(target=self.server.run, name="rnc-serve", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "BackgroundServer":
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                self.engine.close()
                raise RuntimeError("the server did not start (see the log)")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self._thread.join(GRACEFUL_SHUTDOWN_S + 5)
        if self._thread.is_alive():  # connections that would not close: cut them
            self.server.force_exit = True
            self._thread.join(5)
        self.engine.close()
