"""Whether two ALB condition patterns can match one request, and whether a TLS certificate
name covers a host. Both are pure string facts; the environment's rules use them."""

from __future__ import annotations

from functools import cache


def globs_meet(a: str, b: str) -> bool:
    """Whether some string matches both ALB patterns (`*`: any run, `?`: one character)."""

    @cache
    def meet(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            return meet(i + 1, j) or (j < len(b) and meet(i, j + 1))
        if j < len(b) and b[j] == "*":
            return meet(i, j + 1) or (i < len(a) and meet(i + 1, j))
        if i == len(a) or j == len(b):
            return False
        return (a[i] == b[j] or "?" in (a[i], b[j])) and meet(i + 1, j + 1)

    return meet(0, 0)


def any_meet(mine: tuple[str, ...], theirs: tuple[str, ...]) -> bool:
    """Two conditions of one kind overlap; an absent condition matches anything."""
    return not mine or not theirs or any(globs_meet(m, t) for m in mine for t in theirs)


def certificate_covers(name: str, host: str) -> bool:
    """RFC 6125: `*.example.com` covers exactly one more label (`a.example.com`, not
    `a.b.example.com` nor `example.com`); any other name covers itself alone. A host pattern
    counts as covered when every host it can match is."""
    if name.startswith("*."):
        label, _, parent = host.partition(".")
        return parent == name[2:] and bool(label) and "*" not in parent and "?" not in parent
    return host == name
