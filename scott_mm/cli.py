"""How the command-line tools (``tools/*.py``) end on an error: one message, exit status 1.

A user who passed a bad file or config key needs the sentence that names it, not 6-37 frames
of mmengine and torch above it. ``--debug`` on the command line, or ``SCOTT_DEBUG=1`` in the
environment, prints the traceback too. The tools' ``main(argv)`` still raises, so Python
callers and tests see the exception itself.
"""
import os
import sys
import traceback

DEBUG_ENV = 'SCOTT_DEBUG'


def add_debug_flag(parser) -> None:
    """Give a tool's argument parser the ``--debug`` flag that :func:`run` looks for."""
    parser.add_argument('--debug', action='store_true',
                        help=f'on an error, show the full traceback (or set {DEBUG_ENV}=1)')


def debugging(argv) -> bool:
    return '--debug' in argv or os.environ.get(DEBUG_ENV, '') not in ('', '0')


def describe(err: BaseException) -> str:
    """``Type: message``; the type alone when the message is empty (a bare ``EOFError``)."""
    message = str(err).strip()
    return f'{type(err).__name__}: {message}' if message else type(err).__name__


def run(main, argv=None) -> int:
    """Call ``main(argv)``; on an exception print one message to stderr and return 1."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        main(argv)
    except KeyboardInterrupt:
        print('Interrupted.', file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001  (the point: no traceback for any error)
        if debugging(argv):
            traceback.print_exc()
        print(f'error: {describe(err)}', file=sys.stderr)
        if not debugging(argv):
            print(f'(run with --debug or {DEBUG_ENV}=1 to see the traceback)', file=sys.stderr)
        return 1
    return 0
