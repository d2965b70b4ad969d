"""Exit codes every command shares; scripts depend on them, so they never change meaning."""

OK = 0
ERROR = 1  # bad input, I/O failure, anything not covered below
USAGE = 2  # wrong arguments (argparse uses 2 as well)
REFUSED = 3  # a guard rail refused the change (incompatible model, already current, ...)
STALE_REVISION = 4  # --expect-revision did not match: someone else changed the pointer
LOCK_TIMEOUT = 5  # another operator holds the pointer lock
ALARM = 6  # status: the current model is missing, unreadable, incompatible or changed

DESCRIPTIONS = {
    OK: "ok",
    ERROR: "error",
    USAGE: "usage error",
    REFUSED: "refused by a guard rail",
    STALE_REVISION: "stale revision (someone else changed the pointer)",
    LOCK_TIMEOUT: "lock timeout (another operator holds the pointer lock)",
    ALARM: "current model alarm (status)",
}


def epilog() -> str:
    return "exit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in DESCRIPTIONS.items())
