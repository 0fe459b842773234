"""Errors a user can cause: each carries the one line the CLI prints before exiting 2."""


class UserError(Exception):
    """A mistake the user can fix (bad input, missing stack, no credentials, unreachable URL)."""

    exit_code = 2
