"""Snakemake's scheduler leaves a timer behind that holds the process up to a second after
a run has finished.

After every scheduling round Snakemake 9's ``JobScheduler`` starts a non-daemon
``threading.Timer`` (``_schedule_reevalutation``; the job rate limiter's timespan, 1 s by
default) that wakes the scheduler again. When the run is over the interpreter waits for the
last of them before it exits: up to a second (0.6-1.0 s after a run that re-made one report
file, on the 2-core reference machine). The workflow's onsuccess and onerror handlers cancel
them, since nothing is left to schedule by then. A timer of anything else is left alone; if
Snakemake renames the method, nothing is cancelled and ``tests/test_scheduler_timers.py``
fails.
"""

from __future__ import annotations

import threading

#: The JobScheduler method whose timers these are (sic: Snakemake's spelling).
SCHEDULER_METHOD = "_schedule_reevalutation"


def cancel_scheduler_timers() -> int:
    """Cancel the pending timers of Snakemake's scheduler; returns how many there were."""
    cancelled = 0
    for thread in threading.enumerate():
        function = getattr(thread, "function", None)
        if isinstance(thread, threading.Timer) and SCHEDULER_METHOD in getattr(
                function, "__qualname__", ""):
            thread.cancel()
            cancelled += 1
    return cancelled
