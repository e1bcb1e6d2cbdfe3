"""The synthetic Postfix/Exim log generator behind ``bench/generate_logs.py``.

incidents: incident specs and records; common: name pools, our server, formatting, Dest,
Pool; world: the simulated domains, senders and destination behaviour; engine: time, ids,
units, the run and the writer; spool: the lines spilled to sorted runs on disk and merged
back in time order (bounded memory at any size); postfix / postfix_delivery and exim / exim_delivery: the two
simulations; api: ``generate()``; cli: ``main()``.
"""
