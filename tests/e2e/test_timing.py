"""Time limits of the end-to-end checks, scaled for slow or loaded machines.

Every limit a check enforces (how fast svr must fail or stop, how long a subprocess may run) is
multiplied by SVR_TEST_TIME_SCALE (default 1; e.g. 3 on an oversubscribed node or under a
sanitizer). The limits themselves are the promises of docs/errors.md; the factor only says how
much slower than the reference machine this one is.
"""
import os


def time_scale():
    """SVR_TEST_TIME_SCALE as a number >= 1 (a bad value is an error, not ignored)."""
    text = os.environ.get("SVR_TEST_TIME_SCALE", "1")
    try:
        scale = float(text)
    except ValueError:
        raise SystemExit("SVR_TEST_TIME_SCALE must be a number >= 1, got %r" % text)
    if not scale >= 1.0:
        raise SystemExit("SVR_TEST_TIME_SCALE must be a number >= 1, got %r" % text)
    return scale


def scaled(seconds):
    """`seconds` times SVR_TEST_TIME_SCALE."""
    return seconds * time_scale()
