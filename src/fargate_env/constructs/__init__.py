"""Reusable units with narrow props, each tested on a bare Stack()."""
