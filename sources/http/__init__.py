"""The one HTTP layer every platform connector talks through.

``client`` (retries, rate limits, budgets), ``response`` (the exact bytes as evidence),
``settings`` (the shared ``[sources.<name>]`` keys and the policy they make) and
``errors`` (the typed errors and the status mapping). The names below are the public face.
"""

from sources.http.client import USER_AGENT, VERSION, HttpClient, host_of, parse_wait
from sources.http.errors import (
    AuthError,
    BadResponse,
    BudgetExhausted,
    Forbidden,
    NotFound,
    RequestRejected,
    ResponseTooLarge,
    status_error,
)
from sources.http.response import Response
from sources.http.settings import HttpPolicy, HttpSettings

__all__ = [
    "USER_AGENT", "VERSION", "AuthError", "BadResponse", "BudgetExhausted", "Forbidden", "HttpClient",
    "HttpPolicy", "HttpSettings", "NotFound", "RequestRejected", "Response", "ResponseTooLarge",
    "host_of", "parse_wait", "status_error",
]
