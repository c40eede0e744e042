"""The one console for what the CLI says to a person: messages, errors and live progress.

Log lines and a live progress display must share one :class:`rich.console.Console`:
rich then prints each line above the display. Two consoles on one terminal glue a
line onto the bar (``…0:00:05Epoch[0] Train-accuracy=0.706731``). It writes to
stderr, so piped stdout carries only results.
"""

from rich.console import Console

console = Console(stderr=True, highlight=False, soft_wrap=True)  # never break a message mid-line
