"""Running a reader in a child process under an address-space limit: how tests show its memory is bounded.

A reader that allocates what a hostile file claims dies there with MemoryError
(a traceback on stderr); a bounded one prints the SconesError it raised.
"""

import os
import subprocess
import sys

LIMIT_BYTES = 768 << 20  # about 5× what importing Scones and numpy takes
TIMEOUT_SECONDS = 60


def user_error_under_memory_limit(call: str, *, limit_bytes: int = LIMIT_BYTES) -> str:
    """Run ``call`` (an expression) in a child limited to ``limit_bytes``; the ``SconesError`` line it printed.

    Fails the test with the child's stderr if it raised anything else or
    returned without raising.
    """
    script = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit_bytes}, {limit_bytes}))\n"
        "from scones.errors import SconesError\n"
        "try:\n"
        f"    {call}\n"
        "except SconesError as error:\n"
        "    print(type(error).__name__ + ': ' + str(error))\n"
        "else:\n"
        "    raise SystemExit('no error raised')\n"
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=TIMEOUT_SECONDS, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert child.returncode == 0 and child.stdout.count("\n") == 1, child.stderr[-2000:]
    return child.stdout.strip()
