"""Evidence with chain of custody, case files with hand-over, and incident outcome codes: pure cores.

Nothing here touches a database, Redis or the web: the stores and routes that are built on these
modules pass plain values in and persist what comes out. See docs/cases.md.
"""
