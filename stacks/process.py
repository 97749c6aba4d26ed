"""How the reference app's process ends after a synth: quickly, and without losing output."""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time

DRAIN_SECONDS = 2.0
"""How long to wait, at most, for output the jsii Node.js process wrote before it exited."""


def leave_after_synth() -> None:
    """Ends the process with status 0, skipping the interpreter's teardown.

    Call it once the assembly is written. The exit hooks run first: jsii's stops its Node.js
    process and removes its temporary folder. jsii copies what Node.js writes to stderr and
    stdout on a daemon thread, which ends when Node.js has exited and everything is copied;
    that thread is waited for (at most :data:`DRAIN_SECONDS`), so no warning is lost. What is
    skipped is the interpreter freeing every aws-cdk-lib module object by object, about 0.75 s
    of a synth.
    """
    atexit._run_exitfuncs()
    deadline = time.monotonic() + DRAIN_SECONDS
    for thread in threading.enumerate():
        if thread is not threading.current_thread():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
