"""The web review desk: server-rendered pages over the review service (``asn-monitor desk``)."""
