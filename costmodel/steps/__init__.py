"""The steps of :func:`costmodel.analyze.analyze`, one module each, in the order it runs them.

Every step is a function with a small typed input — :class:`~costmodel.steps.case.Case` (the trace and the
rules every option is judged by) plus what that step needs — and a frozen output that carries its warnings;
``analyze`` joins the outputs into one :class:`~costmodel.results.Results`.

- :mod:`.case`: ``Case``, ``Rules``, ``Pair`` (a profile on a GPU price), ``Matchup`` (the primary pair
  against the cheapest serverless price), and ``head`` (the search window of a long trace);
- :mod:`.setup`: open the trace, put the prices in one currency, pair every profile with every GPU price;
- :mod:`.routing`: prefix caching — each routing policy's hit rate, and the routing table;
- :mod:`.serverless`: every per-token price's bill;
- :mod:`.dedicated`: every pair's autoscaled fleet, the primary pair, the storage what-if;
- :mod:`.hybrid`: the overflow split and routing by output length;
- :mod:`.breakeven`: the break-even rows and the cost curve;
- :mod:`.sensitivity`: the tornado and the Monte Carlo;
- :mod:`.finance`: committed, spot and owned options;
- :mod:`.verdict`: the prices used, the recommendation, the timeline shown, the stated assumptions.

A step imports :mod:`.case` and the steps before it, never one after it.
"""
