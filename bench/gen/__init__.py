"""The synthetic Postfix/Exim log generator behind ``bench/generate_logs.py``.

incidents: incident specs and records; common: name pools, our server, formatting, Dest,
Pool; world: the simulated domains, senders and destination behaviour; engine: time, ids,
units, the run and the writer; postfix / postfix_delivery and exim / exim_delivery: the two
simulations; api: ``generate()``; cli: ``main()``.
"""
