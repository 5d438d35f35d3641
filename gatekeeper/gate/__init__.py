"""The gate's pure pipeline: from facts already fetched to a typed result.

`pipeline` fixes the order (authorship, trust root, approvals, overrides, decision) and says
what to fetch; `signed_overrides` is the one seam to gatekeeper.overrides; `sections` types
the report; `headcheck` decides one check per head commit; `record` is the decision record
the check run carries. No module here does I/O: commands/gate.py fetches and reports.
"""
