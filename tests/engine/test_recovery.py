"""A step's commit is recognised by its subject, as git shows it."""

from __future__ import annotations

from shipyard.engine.recovery import subject_of


def test_subject_is_the_first_paragraph_on_one_line() -> None:
    assert subject_of("build: the thing") == "build: the thing"
    assert subject_of("two  \n  lines\n\nbody\n\nShipyard-Phase: x\n") == "two   lines"  # as git
