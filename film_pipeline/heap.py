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
calls it (Dagster's daemon, its UI and code server, Celery workers). Besides `film`, the processes
Dagster starts to execute one run or one step (the UI's, the sensor's and the schedule's runs)
install it when they load the code location (`collect_around_imports_in_run_workers`): as short-
lived as a `film` command and as heavy, they spent about 1.1 s in the collector on a demo edit.
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


# Where Dagster executes one run, or one step of it. Its code server (`dagster api grpc`, which the
# UI and the daemon launch runs through) starts each run in a child of its own, with
# multiprocessing's spawn: the child's `sys.argv` is the server's, its original command line ends
# with `--multiprocessing-fork`; the multiprocess executor starts each step so from the run's
# process. Other run launchers start `dagster api execute_run` (or `execute_step`) directly.
SPAWNED_FROM = ("api", "grpc")
RUN_WORKER_COMMANDS = (("api", "execute_run"), ("api", "execute_step"))


def collect_around_imports_in_run_workers(argv: list[str] | None = None, orig_argv: list[str] | None = None) -> bool:
    """`collect_around_imports` if this process executes a Dagster run or step (by its command
    line: `argv` as Python sees it, `orig_argv` as it was started); whether it does. The code
    server itself, the daemon and the UI are long-lived: what they import when they reload code
    stays collectable there."""
    argv = sys.argv if argv is None else argv
    orig_argv = sys.orig_argv if orig_argv is None else orig_argv
    command = tuple(argv[1:3])
    spawned = command == SPAWNED_FROM and "--multiprocessing-fork" in orig_argv
    if not (spawned or command in RUN_WORKER_COMMANDS):
        return False
    collect_around_imports()
    return True


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
