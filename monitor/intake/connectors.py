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


def collect_account(pipeline: Pipeline, platform: str, account_id: str) -> list[str]:
    """Run the per-account fetch of every enabled source of ``platform``; returns errors."""
    handles = [h for h in pipeline.store.current_handles()
               if h.account.account_id == account_id and h.account.platform == platform]
    sources = [s for s in pipeline.sources if s.platform == platform]
    if not handles or not sources:
        return []
    index = AccountIndex.build(handles)
    view = pipeline.registries(index)
    account = handles[0].account
    run_id = pipeline.store.begin_run("intake")
    errors: list[str] = []
    try:
        for source in sources:
            errors.extend(_fetch(pipeline, source, account, run_id, index, view))
    except BaseException:
        pipeline.store.finish_run(run_id, "failed")
        raise
    pipeline.store.finish_run(run_id, "partial" if errors else "ok")
    return errors


def _fetch(pipeline: Pipeline, source: Source, account: Account, run_id: int, index: AccountIndex,
           view: RegistryView) -> list[str]:
    try:
        pages = source.fetch(account, pipeline.store.cursors(source.name, account.key))
        for n, page in enumerate(pages, start=1):
            process_page(pipeline, source, page, run_id, index, view)
            if n >= pipeline.max_pages:
                break
    except SourceError as exc:
        kind = "account_unavailable" if isinstance(exc, AccountUnavailable) else type(exc).__name__
        pipeline.store.record_error(run_id, source.name, account.key, kind, str(exc))
        return [f"{source.name}: {exc}"]
    return []
