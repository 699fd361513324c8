"""asn-monitor: watches configured ASN accounts for partisan activity, for Bawaslu."""

__version__ = "0.1.0"
