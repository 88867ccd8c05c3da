"""The console's pages, a blueprint per area: auth, compliance, registry (organisations, houses), worklist
(discrepancies), messages, runs (reconciliation runs, schedule, audit log)."""
