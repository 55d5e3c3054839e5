"""Oracles: checks over a finished scenario (:mod:`harness.chaos.oracles`).

The checks live in the chaos room, beside the scenarios and the fault
registry they read; this module is their public name, so that
``from harness.oracles import judge`` keeps working.
"""

from harness.chaos.oracles import (
    CLASS_SEVERITY,
    CLASS_WEIGHT,
    ORACLE_CLASSES,
    SILENT_CLASSES,
    Finding,
    Hit,
    TimelineEntry,
    judge,
    oracle_names,
    register_oracle,
    timeline_of,
)

__all__ = [
    "CLASS_SEVERITY",
    "CLASS_WEIGHT",
    "ORACLE_CLASSES",
    "SILENT_CLASSES",
    "Finding",
    "Hit",
    "TimelineEntry",
    "judge",
    "oracle_names",
    "register_oracle",
    "timeline_of",
]
