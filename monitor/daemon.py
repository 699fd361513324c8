"""The long-running daemon: sources polled on their own intervals, the weekly digest, retention.

Jobs (APScheduler, one worker thread per job so that a slow source never
delays the others):

``poll:<source>``
    one cycle of that source every ``poll_interval`` seconds, with jitter;
    ``max_instances=1`` so two cycles of one source never overlap.
``digest``
    the weekly digest on its cron schedule (Asia/Jakarta, Monday 07:00 by default).
``digest-retry``
    every ``[digest] retry_interval`` seconds and once at start: sends the due
    week's digest to any audience not yet served (a failed attempt, or a
    scheduled time the daemon was down for). ``storage.digest`` keeps it to once.
``stream:<source>``
    a streaming source (``bluesky-stream``) consuming its event stream until the
    stop event; the current batch is stored before it returns.
``retention``
    daily data minimisation at ``[retention] hour``.
``anchor``
    with ``[anchoring] tsa_urls`` set: the chain head timestamped on
    ``[anchoring] schedule`` (daily by default) and once at start if it has no token.
``backup``
    with ``[backup] dir`` set: daily at ``[backup] hour``, keeping the last ``keep``.
``heartbeat``
    every ``[daemon] heartbeat_interval`` seconds: a log line, the
    ``daemon_heartbeat`` row (and optional file), the jobs' next run times.

SIGTERM or SIGINT sets a stop event that the pipeline checks between pages:
the current page is committed or abandoned whole, running jobs end, the
heartbeat row records the stop, and ``run`` returns (exit 0). A second signal
more than a second later exits at once (exit 1); DuckDB rolls back the
unfinished transaction.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor import __version__
from monitor.errors import AsnMonitorError, ConfigError, InternalError
from monitor.logs import event
from monitor.pipeline import Pipeline, run_cycle
from monitor.settings import Settings
from monitor.stream import StreamJob, is_stream
from storage.daemon_state import DaemonState

log = logging.getLogger("asn_monitor.daemon")
JAKARTA = ZoneInfo("Asia/Jakarta")
# The longest the main thread sleeps before it runs a pending signal handler.
WAKE_S = 0.5
# The stop signal received, noted by the handler and logged by the main thread.
RECEIVED: list[str] = []


class Daemon:
    """The scheduler, its jobs and the stop event; ``run`` blocks until stopped."""

    def __init__(self, settings: Settings, pipeline: Pipeline, stop: threading.Event | None = None,
                 *, only: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.stop = stop or threading.Event()
        self.env = os.environ if env is None else env
        self.sources = [s for s in pipeline.sources if only is None or s.name in only]
        self.state = DaemonState(pipeline.store.db)
        self.started_at = datetime.now(UTC)
        # Daemon-state rows are shared by every job; one writer at a time avoids
        # DuckDB write-write conflicts between threads of this process.
        self._state_lock = threading.Lock()
        # The scheduled digest and its retry job must not race for the same week.
        self._digest_lock = threading.Lock()
        self._schedules: dict[str, str] = {}
        # Jobs in progress. APScheduler's shutdown(wait=True) holds the scheduler's
        # locks while it waits, so a job asking for its next run time would
        # deadlock; the daemon shuts down without waiting and waits here instead.
        self._running = 0
        self._idle = threading.Condition()
        self.scheduler = self._build()

    # -- jobs ----------------------------------------------------------------

    def _poll(self, name: str) -> None:
        if self.stop.is_set():
            return
        from monitor.check import raise_if_failed

        run_id, stats = run_cycle(self.pipeline, trigger="daemon", stop=self.stop, only=[name])
        for s in stats:
            event(log, "cycle_done", run=run_id, source=s.source, pages=s.pages, seen=s.seen,
                  new=s.new, duplicate=s.duplicate, skipped=s.skipped, flagged=s.flagged,
                  errors=len(s.errors), interrupted=self.stop.is_set())
            for line in s.errors[:20]:
                event(log, "source_error", logging.WARNING, run=run_id, source=s.source, error=line)
        if not self.stop.is_set():
            raise_if_failed(stats)  # job_failed (an error) and "failed" in status' job table

    def _stream(self, source: Any) -> None:
        failures = 0
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                StreamJob(self.pipeline, source, self.stop).run()
            except Exception as exc:  # recorded; the stream starts again
                event(log, "stream_failed", logging.ERROR, source=source.name,
                      error=f"{type(exc).__name__}: {exc}")
            # A run that lasted a while starts the backoff again from its first step.
            failures = 1 if time.monotonic() - started > 60 else failures + 1
            self.stop.wait(random.uniform(0, min(60.0, 0.5 * 2 ** min(failures, 10))))  # noqa: S311

    def _digest(self) -> None:
        from monitor.digest import audiences, due_week, schedule_trigger, send_week

        digest = self.settings.digest
        if not digest.enabled or not audiences(digest) or self.stop.is_set():
            return
        week = due_week(schedule_trigger(digest), datetime.now(JAKARTA))
        if week is None:
            return
        with self._digest_lock:
            outcomes = send_week(self.pipeline.store.db, self.settings, week, env=self.env,
                                 only_retry=True)
        for o in outcomes:
            if o.status == "skipped" and o.detail == "already sent":
                continue
            level = {"sent": logging.INFO, "failed": logging.ERROR}.get(o.status, logging.WARNING)
            event(log, f"digest_{o.status}", level, week=o.week, audience=o.audience,
                  flags=o.flags, message_id=o.message_id, detail=o.detail,
                  seconds=round(o.seconds, 3))
        if any(o.status == "failed" for o in outcomes):
            raise AsnMonitorError(f"digest {week}: delivery failed, retried in "
                                  f"{digest.retry_interval:.0f}s")

    def _retention(self) -> None:
        from storage.audit import purge_unflagged

        if self.stop.is_set():
            return
        days = self.settings.retention.raw_days
        result = purge_unflagged(self.pipeline.store.db, days)
        event(log, "retention_done", raw_days=days, cutoff=result.cutoff,
              items_purged=result.items_purged, raw_purged=result.raw_purged)

    def _anchor(self) -> None:
        from monitor.anchoring import stamp_head

        if not self.stop.is_set():
            stamp_head(self.pipeline.store.db, self.settings)

    def _backup(self) -> None:
        from monitor.backup import daily_backup

        if not self.stop.is_set():
            daily_backup(self.pipeline.store.db, self.settings)

    def _heartbeat(self) -> None:
        with self._state_lock:
            beat = self.state.beat(os.getpid(), socket.gethostname(), __version__, self.started_at)
            if self.stop.is_set():
                return
            for job in self.scheduler.get_jobs():
                self.state.set_next_run(job.id, job.next_run_time)
        target = self.settings.heartbeat_path
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + ".tmp")
            tmp.write_text(beat.isoformat() + "\n", encoding="utf-8")
            tmp.replace(target)  # atomic: a monitor never reads half a timestamp
        event(log, "heartbeat", pid=os.getpid(), jobs=len(self.scheduler.get_jobs()),
              sources=len(self.sources))

    def _tracked(self, job_id: str, fn: Callable[[], None]) -> Callable[[], None]:
        """``fn`` with its start, end, status and error recorded in ``daemon_jobs``."""

        def job() -> None:
            if self.stop.is_set():
                return
            with self._idle:
                self._running += 1
            try:
                self._record(self.state.job_started, job_id)
                status, error = "ok", None
                try:
                    fn()
                except AsnMonitorError as exc:
                    # Recorded and retried at the next run; the daemon keeps going.
                    status, error = "failed", str(exc)
                    event(log, "job_failed", logging.ERROR, job=job_id, error=str(exc))
                except Exception as exc:
                    status, error = "failed", f"{type(exc).__name__}: {exc}"
                    log.exception("job_crashed", extra={"asn_fields": {"job": job_id}})
                self._record(self.state.job_finished, job_id, status, error, self._next_run(job_id))
            finally:
                with self._idle:
                    self._running -= 1
                    self._idle.notify_all()

        return job

    def _next_run(self, job_id: str) -> datetime | None:
        if self.stop.is_set():
            return None  # shutting down: no next run
        current = self.scheduler.get_job(job_id)
        return getattr(current, "next_run_time", None)  # pending jobs (not started) have none

    def _record(self, fn: Callable[..., None], *args: Any) -> None:
        # Bookkeeping must never break a job; a locked database only costs a status row.
        try:
            with self._state_lock:
                fn(*args)
        except AsnMonitorError as exc:
            event(log, "state_write_failed", logging.WARNING, error=str(exc))

    # -- scheduler -----------------------------------------------------------

    def _add(self, job_id: str, fn: Callable[[], None], trigger: Any, schedule: str,
             start_now: bool) -> None:
        kwargs: dict[str, Any] = {"next_run_time": datetime.now(JAKARTA)} if start_now else {}
        self.scheduler.add_job(self._tracked(job_id, fn), trigger, id=job_id, name=job_id,
                               max_instances=1, coalesce=True, misfire_grace_time=None, **kwargs)
        self._schedules[job_id] = schedule

    def _build(self) -> BackgroundScheduler:
        from monitor.digest import schedule_trigger

        workers = len(self.sources) + 6  # one thread per job: nothing waits for a free worker
        self.scheduler = BackgroundScheduler(
            timezone=JAKARTA, executors={"default": {"type": "threadpool", "max_workers": workers}})
        jitter = self.settings.daemon.jitter
        for source in self.sources:
            if is_stream(source):
                # Long-lived: one run from start to the stop event (it restarts itself).
                self._add(f"stream:{source.name}", lambda s=source: self._stream(s),  # type: ignore[misc]
                          DateTrigger(datetime.now(JAKARTA), timezone=JAKARTA), "continuous",
                          start_now=False)
                continue
            interval = float(self.settings.sources[source.name].get("poll_interval", 900.0))
            spread = int(interval * jitter)
            self._add(f"poll:{source.name}", lambda n=source.name: self._poll(n),  # type: ignore[misc]
                      IntervalTrigger(seconds=interval, jitter=spread or None, timezone=JAKARTA),
                      f"every {interval:g}s ±{spread}s", start_now=True)
        d = self.settings.digest
        if d.enabled:
            s = d.schedule
            self._add("digest", self._digest, schedule_trigger(d),
                      f"{s.day_of_week} {_two(s.hour)}:{_two(s.minute)} WIB", start_now=False)
            self._add("digest-retry", self._digest, IntervalTrigger(seconds=d.retry_interval),
                      f"every {d.retry_interval:g}s", start_now=True)
        r = self.settings.retention
        self._add("retention", self._retention, CronTrigger(hour=r.hour, minute=0, timezone=JAKARTA),
                  f"daily {r.hour:02d}:00 WIB", start_now=False)
        self._add_anchoring()
        hb = self.settings.daemon.heartbeat_interval
        self._add("heartbeat", self._heartbeat, IntervalTrigger(seconds=hb), f"every {hb:g}s",
                  start_now=True)
        return self.scheduler

    def _add_anchoring(self) -> None:
        a, b = self.settings.anchoring, self.settings.backup
        if a.tsa_urls:
            try:
                trigger = CronTrigger.from_crontab(a.schedule, timezone=JAKARTA)
            except ValueError as exc:
                raise ConfigError("[anchoring] schedule", str(exc)) from None
            self._add("anchor", self._anchor, trigger, f"cron {a.schedule} WIB", start_now=True)
        if b.dir is not None:
            self._add("backup", self._backup, CronTrigger(hour=b.hour, minute=30, timezone=JAKARTA),
                      f"daily {b.hour:02d}:30 WIB, keep {b.keep}", start_now=False)

    def run(self) -> None:
        """Start the jobs and block until the stop event is set; then shut down cleanly."""
        # Paused first: the job list (with next run times) is written before any job runs.
        self.scheduler.start(paused=True)
        self._record(self.state.register_jobs,
                     [(j.id, j.name, self._schedules[j.id], j.next_run_time)
                      for j in self.scheduler.get_jobs()])
        self.scheduler.resume()
        from monitor.digest import audiences

        if self.settings.digest.enabled and not audiences(self.settings.digest):
            event(log, "digest_not_configured", logging.WARNING,
                  detail="[digest] has no recipients; no weekly digest will be sent")
        event(log, "daemon_started", pid=os.getpid(), sources=len(self.sources),
              jobs=",".join(j.id for j in self.scheduler.get_jobs()),
              database=str(self.pipeline.store.db.path))
        # Timed waits, never an untimed one: Python runs a signal's handler in the main
        # thread only, and a SIGTERM the kernel hands to another thread (a scheduler or
        # DuckDB worker) does not wake a main thread blocked on a lock. Each timeout lets
        # the handler run, so a stop signal is seen within WAKE_S.
        while not self.stop.wait(WAKE_S):
            pass
        if RECEIVED:
            event(log, "signal", signal=RECEIVED[0])
        event(log, "daemon_stopping")
        self.scheduler.shutdown(wait=False)  # no new runs; running jobs saw the stop event
        with self._idle:
            while not self._idle.wait_for(lambda: self._running == 0, WAKE_S):
                pass  # timed for the same reason: a second signal must still force the exit
        self._record(lambda: self.state.stopped())
        event(log, "daemon_stopped", uptime_s=round((datetime.now(UTC) - self.started_at)
                                                    .total_seconds(), 1))


def _two(value: int | str) -> str:
    return f"{value:02d}" if isinstance(value, int) else value


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM/SIGINT: stop after the current page; a second signal exits immediately."""

    first: list[float] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # No logging here: a handler that waits for the logging lock while a worker
        # thread holds it would never set the stop event. The main thread logs the
        # signal once it wakes (``Daemon.run``).
        # A signal sent to the process and to its group (timeout(1), a shell) arrives
        # twice at once; only a second signal a moment later means "exit now".
        if stop.is_set() and first and time.monotonic() - first[0] > 1.0:
            os.write(2, b"event=forced_exit\n")
            os._exit(1)  # the worker threads would otherwise keep the process alive
        if not first:
            first.append(time.monotonic())
            RECEIVED.append(signal.Signals(signum).name)
        stop.set()

    # A stop signal blocked by whoever started us would never arrive.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def run_daemon(settings: Settings, pipeline: Pipeline, stop: threading.Event | None = None,
               only: Sequence[str] | None = None) -> None:
    """Run until ``stop`` is set (given: the caller handles signals; else SIGTERM/SIGINT set it)."""
    if stop is None:
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            install_signal_handlers(stop)
    Daemon(settings, pipeline, stop, only=only).run()


def start(settings: Settings, only: Sequence[str] | None = None, log_json: bool = False) -> None:
    """``asn-monitor run``: logging and signals, the pipeline, then the daemon until stopped.

    An unexpected exception is logged with its traceback, recorded for ``status``
    and becomes ``InternalError`` (exit 70, which the systemd unit does not restart).
    """
    from monitor import logs
    from monitor.app import pipeline_for

    # Logging and signals first: a SIGTERM while the pipeline is built still stops cleanly.
    logs.setup("json" if log_json else settings.daemon.log_format, settings.daemon.log_level)
    stop = threading.Event()
    install_signal_handlers(stop)
    try:
        run_daemon(settings, pipeline_for(settings, only or ()), stop, only=only)
    except AsnMonitorError as exc:
        event(log, "daemon_failed", logging.ERROR, error=str(exc), exit_code=exc.exit_code)
        raise
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.exception("daemon_crashed", extra={"asn_fields": {"error": error}})
        _record_crash(settings, error, traceback.format_exc())
        raise InternalError(f"daemon crashed: {error} (traceback in the log)") from exc


def _record_crash(settings: Settings, error: str, trace: str) -> None:
    # Best effort: the crash may be the database itself; the log has it either way.
    try:
        from storage.store import Store

        store = Store(settings.db_path, lock_timeout=5)
        DaemonState(store.db).record_crash(os.getpid(), socket.gethostname(), __version__, error,
                                           trace)
    except Exception as exc:
        event(log, "crash_not_recorded", logging.ERROR, error=f"{type(exc).__name__}: {exc}")


def heartbeat_age(path: Path) -> float | None:
    """Seconds since the heartbeat file was written, or ``None`` if it is missing (for probes)."""
    try:
        return datetime.now(UTC).timestamp() - path.stat().st_mtime
    except FileNotFoundError:
        return None
