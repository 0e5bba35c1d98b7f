"""The kernel every mode runs: bars and events on one bus, the stages, the pipeline, the risk gate in
front of every broker, the ledger, and the node that assembles them (DESIGN §2, §11, §12)."""
