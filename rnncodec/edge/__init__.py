"""The edge server and its client: ``rnc serve`` and ``rnc send``.

A client compresses an image to a ``.rnc`` file and sends it; the server decodes it and recognises
it (:mod:`rnncodec.recognition`), answering with the record of ``rnc classify/detect --json``.
Because ``.rnc`` files are progressive, a client can also stream them an iteration at a time and
stop as soon as the server is sure: easy images cost one iteration, hard ones get more.

- :mod:`.client` — :class:`~.client.EdgeClient`, for programs (HTTP on the standard library, streams on ``websockets``).
- :mod:`.app` — :func:`~.app.create_app`, the FastAPI application (needs the ``[serve]`` extra).
- :mod:`.protocol` — paths, stream messages, close codes; ``docs/server.md`` describes them.

Neither is imported by this package: a client does not need the server's dependencies.
"""
