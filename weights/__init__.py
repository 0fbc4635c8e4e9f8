"""Shipped weights files (installed as ``rnncodec._weights``); the registry is :mod:`rnncodec.weights`."""
