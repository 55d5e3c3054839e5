"""The shared room: helpers every room of the harness may import.

It sits below every other room in the data flow and imports none of them
(only :mod:`harness.errors`):

* :mod:`harness._shared.wire`: the wire types (``Request``, ``Response``,
  transport faults) and the clocks, what crosses the transport boundary;
* :mod:`harness._shared.redact`: secret redaction, one set of rules for the
  terminal, the JSON, the ledger, the exports and the HTML;
* :mod:`harness._shared.samedef`: whether two registrations (a fault, a
  trigger, an oracle, a system) declare the same thing, so a module imported
  twice registers once.

The package is private to ``harness`` (its public names are re-exported by
:mod:`harness` where users need them); its modules' names are public inside it.
"""
