"""The performance benchmark of issue 7 (``asn-monitor bench``, ``python -m bench``)."""
