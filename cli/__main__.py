"""``python -m rnncodec.cli``: the same as the ``rnc`` command."""

from .main import cli

cli(prog_name="rnc")
