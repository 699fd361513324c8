"""The long-running daemon: each source polled on its own interval, stopped cleanly by signal.

Every source gets its own APScheduler job (``max_instances=1`` so two cycles of
one source never overlap; one thread per source so a slow source does not
delay the others). SIGTERM or SIGINT sets a stop event that the pipeline checks
between pages; the current page is committed or abandoned whole.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.errors import AsnMonitorError
from monitor.pipeline import Pipeline, run_cycle
from monitor.settings import Settings

log = logging.getLogger("asn_monitor.daemon")
JAKARTA = ZoneInfo("Asia/Jakarta")


def _poll_job(pipeline: Pipeline, name: str, stop: threading.Event) -> Callable[[], None]:
    def job() -> None:
        if stop.is_set():
            return
        try:
            run_id, stats = run_cycle(pipeline, trigger="daemon", stop=stop, only=[name])
            for s in stats:
                log.info("cycle run=%s source=%s new=%s flagged=%s errors=%s",
                         run_id, s.source, s.new, s.flagged, len(s.errors))
        except AsnMonitorError as exc:
            # Recorded and retried on the next interval; the daemon keeps going.
            log.error("cycle failed source=%s error=%s", name, exc)

    return job


def build_scheduler(settings: Settings, pipeline: Pipeline, stop: threading.Event
                    ) -> BackgroundScheduler:
    """A scheduler with one polling job per source."""
    scheduler = BackgroundScheduler(timezone=JAKARTA,
                                    executors={"default": {"type": "threadpool",
                                                           "max_workers": max(2, len(pipeline.sources))}})
    for source in pipeline.sources:
        interval = float(settings.sources[source.name].get("poll_interval", 900.0))
        scheduler.add_job(
            _poll_job(pipeline, source.name, stop),
            IntervalTrigger(seconds=interval, jitter=max(1, int(interval * 0.1))),
            id=f"poll:{source.name}", name=f"poll {source.name}",
            max_instances=1, coalesce=True, next_run_time=datetime.now(JAKARTA),
        )
    return scheduler


def run_daemon(settings: Settings, pipeline: Pipeline, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or ``stop`` is set); the first cycle of each source starts now."""
    stop = stop or threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current page", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    scheduler = build_scheduler(settings, pipeline, stop)
    scheduler.start()
    log.info("daemon started with %d sources", len(pipeline.sources))
    stop.wait()
    scheduler.shutdown(wait=True)
    log.info("daemon stopped")
