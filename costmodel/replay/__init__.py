"""Replay a trace through each way of serving it: serverless bill, dedicated fleet, hybrid; what-ifs and the
trace-shaped break-even. See ``docs/replay.md``."""
