"""avarep.scheduler_timers: the timers Snakemake's scheduler leaves behind are cancelled when a
run ends (they held the process up to 1 s after its last job), and no other timer is."""

import threading
from types import SimpleNamespace

from snakemake.scheduling.job_scheduler import JobScheduler

from avarep import scheduler_timers


class Scheduler:
    """Stands in for Snakemake's JobScheduler: a method of the same name starts the timer."""

    def __init__(self):
        self.woken = threading.Event()

    def _schedule_reevalutation(self, delay):
        timer = threading.Timer(delay, lambda: self.woken.set())
        timer.start()
        return timer


def test_the_schedulers_timer_is_cancelled_and_another_timer_is_not():
    scheduler = Scheduler()
    theirs = scheduler._schedule_reevalutation(0.2)
    other_woken = threading.Event()
    other = threading.Timer(0.2, other_woken.set)
    other.start()
    assert scheduler_timers.cancel_scheduler_timers() >= 1
    theirs.join(timeout=10)
    assert not theirs.is_alive()
    assert other_woken.wait(timeout=10)  # the other timer ran out as it should
    assert not scheduler.woken.wait(timeout=0.5)  # well past its 0.2 s: it never fired


def test_snakemakes_scheduler_still_starts_the_timer_this_cancels():
    """If Snakemake renames or reworks the method, this fails instead of the cancel silently
    doing nothing."""
    opened = threading.Semaphore(0)
    before = set(threading.enumerate())
    JobScheduler._schedule_reevalutation(SimpleNamespace(_open_jobs=opened), 0.2)
    started = [t for t in threading.enumerate() if t not in before]
    assert len(started) == 1 and isinstance(started[0], threading.Timer)
    assert scheduler_timers.cancel_scheduler_timers() >= 1
    started[0].join(timeout=10)
    assert not started[0].is_alive()
    assert not opened.acquire(timeout=0.5)  # well past its 0.2 s: it never woke the scheduler
