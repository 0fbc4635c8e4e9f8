"""``rnncodec.cli``: the ``rnc`` command (click).  See :mod:`rnncodec.cli.main`."""
