"""A reported URL on a platform with a connector: fetched through that connector.

When the reported ASN has a handle on the URL's platform and an enabled source
reads that platform, the source is asked for the account's new items from its
stored cursors, exactly as a cycle would (``monitor.pipeline``: pages stored whole
with their raw bytes, cursors advanced, flags raised by the classifier). The
reported post is then an ordinary stored item. Feed-only sources are not read here:
a feed's cursor covers every account, and a report must not move it.
"""

from __future__ import annotations

from monitor.errors import AccountUnavailable, SourceError
from monitor.model import Account, RegistryView, Source
from monitor.pipeline import AccountIndex, Pipeline, process_page


def collect_account(p: Pipeline, platform: str, account_id: str) -> list[str]:
    """Run the per-account fetch of every enabled source of ``platform``; returns errors."""
    handles = [h for h in p.store.current_handles()
               if h.account.account_id == account_id and h.account.platform == platform]
    sources = [s for s in p.sources if s.platform == platform]
    if not handles or not sources:
        return []
    index = AccountIndex.build(handles)
    view = p.registries(index)
    account = handles[0].account
    run_id = p.store.begin_run("intake")
    errors: list[str] = []
    try:
        for source in sources:
            errors.extend(_fetch(p, source, account, run_id, index, view))
    except BaseException:
        p.store.finish_run(run_id, "failed")
        raise
    p.store.finish_run(run_id, "partial" if errors else "ok")
    return errors


def _fetch(p: Pipeline, src: Source, account: Account, run_id: int, index: AccountIndex,
           reg: RegistryView) -> list[str]:
    try:
        pages = src.fetch(account, p.store.cursors(src.name, account.key))
        for n, page in enumerate(pages, start=1):
            process_page(p, src, page, run_id, index, reg)
            if n >= p.max_pages:
                break
    except SourceError as exc:
        kind = "account_unavailable" if isinstance(exc, AccountUnavailable) else type(exc).__name__
        p.store.record_error(run_id, src.name, account.key, kind, str(exc))
        return [f"{src.name}: {exc}"]
    return []
