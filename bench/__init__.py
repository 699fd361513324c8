"""The performance benchmark (``asn-monitor bench``, ``python -m bench``)."""
