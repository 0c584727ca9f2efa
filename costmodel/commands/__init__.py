"""Top-level ``breakeven`` commands that belong to the cost model (``table``, ``analyze``)."""
