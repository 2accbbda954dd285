"""The reader side of trust: one TUF client workflow over a pure verification core.

The core does no I/O: ``checks`` (one file's signatures, length, hashes), ``policy``
(``TrustPolicy``: the load order, what bytes are worth), ``delegations`` and ``resolve``
(trusted delegation edges, path authorisation and resolution), ``rollback`` (what this
machine saw; fast-forward recovery). Around it: ``workflow`` (``ClientWorkflow``, the one
orchestrator every entry point runs: which file next, from where, with which cap),
``whole`` (a whole release, with the listing audit of ``unsigned``), ``pages`` (one page),
``kept`` (what an earlier run verified, read again), ``publication`` (step 10: the log,
and the release time it proves), ``seen`` (the rollback floors on disk) and ``conformance`` (the
tuf-conformance client).
The steps are written down in docs/verification-policy.md.

Import the submodules directly; this package imports nothing at load time.
"""

__all__ = [
    "checks",
    "conformance",
    "delegations",
    "kept",
    "pages",
    "policy",
    "publication",
    "resolve",
    "rollback",
    "seen",
    "unsigned",
    "whole",
    "workflow",
]
