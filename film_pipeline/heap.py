"""Python's garbage collector in a `film` command: paused while a module imports, and what the
imports made frozen out of every later pass.

Why: a command's heap is mostly what its imports made (Dagster, the definitions, torch and
diffusers for a step): millions of objects that live until the process ends. The collector walks
every one of them on each full pass, and it makes one whenever the heap has grown by a quarter:
six full passes took 0.75 s of a one-prompt edit at 8 shots, eight took 1.2-1.4 s at 2,000 shots,
and the passes during `import dagster` alone about 0.3 s. With the collector paused during
imports and their objects frozen (`gc.freeze`: reference counting still frees them, only the
cycle search skips them), the same edits spent under 0.02 s in it; `bench/gc_cost.py` measures it.

What this costs: cyclic garbage made while a module imports, or alive in the command when it does,
is kept until the process exits (about 1% more peak memory on those edits). A freeze happens only
when an import loaded a module not loaded before, so however long a render runs, their number is
bounded by the modules it can import; between them the collector works as always.

Only the main thread's imports pause the collector: an import in a worker thread passes through
as it came, and so does every import before `collect_around_imports` or in a process that never
calls it (Dagster's daemon, its UI, Celery workers).
"""

import builtins
import gc
import importlib
import sys
import threading
from collections.abc import Callable

_importing = False  # an outermost import is in progress on the main thread
_installed = False


def collect_around_imports() -> None:
    """From now on, in this process: the collector pauses while the main thread imports, and what
    exists when an outermost import that loaded a new module ends is frozen. Once per process."""
    global _installed
    if _installed:
        return
    _installed = True
    main = threading.main_thread().ident
    builtins.__import__ = _pausing(builtins.__import__, main)
    importlib.import_module = _pausing(importlib.import_module, main)


def _pausing(load: Callable, main: int) -> Callable:
    def pausing_import(*args, **kwargs):
        global _importing
        if _importing or threading.get_ident() != main:  # nested in one, or not the main thread's
            return load(*args, **kwargs)
        _importing, enabled, modules = True, gc.isenabled(), len(sys.modules)
        gc.disable()
        try:
            return load(*args, **kwargs)
        finally:
            _importing = False
            if len(sys.modules) != modules:
                gc.freeze()
            if enabled:
                gc.enable()

    pausing_import.__wrapped__ = load
    return pausing_import
