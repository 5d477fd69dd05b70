"""Keep freed memory in the process for reuse instead of handing it back (glibc only).

glibc gives every allocation above its mmap threshold (128 kB, rising to at most 32 MB) pages
of its own and unmaps them when the block is freed. The ``paper`` protocol allocates 15-55 MB
tensors all the time (each seed's weights, the generated images, temporaries), so each one
page-faults its way in anew: on the 2-core reference machine a fresh 55 MB tensor costs about
40 ms of page faults against 17 ms for the sigmoid computed into it. With mmap off
(``M_MMAP_MAX = 0``) and the heap never trimmed, freed blocks are reused; the README's Speed
section gives what a seed gains. The price: a job keeps its peak memory until it exits.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # mallopt parameters, glibc's malloc.h
NEVER_TRIM = 2**31 - 1  # the largest int mallopt takes: trim only beyond 2 GiB of free top


def keep_freed_memory() -> str:
    """Set glibc's allocator to reuse freed memory; returns what was done (for the job log)."""
    if not sys.platform.startswith("linux"):
        return "allocator unchanged: not Linux"
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return "allocator unchanged: no glibc mallopt in this C library"
    if mallopt(M_MMAP_MAX, 0) != 1 or mallopt(M_TRIM_THRESHOLD, NEVER_TRIM) != 1:
        return "allocator unchanged: glibc refused the setting"
    return "allocator: freed memory kept for reuse (glibc mallopt: no mmap, no trim)"
