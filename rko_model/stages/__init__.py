"""One module per pipeline stage: snapshot, labels, validation, scoring, marts, readiness, export."""
