"""Digests, from the papers of a day to the mail server.

- :mod:`~recommender.digests.pool`: the papers a run's digests may show, loaded once.
- :mod:`~recommender.digests.plan`: choose each subscriber's papers and render the email.
- :mod:`~recommender.digests.composer`: record the due digests, in batches, by worker
  processes, each exactly once.
- :mod:`~recommender.digests.outbox`: claim recorded digests and hand them to the mail server
  over one or more connections, recording what came of each.
- :mod:`~recommender.digests.sending`: a sending run, delivering each batch once recorded.

Nothing is imported here: the outbox needs none of the numerical libraries the others load.
"""
