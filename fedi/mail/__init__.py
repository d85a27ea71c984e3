"""Outgoing mail: messages rendered from ``templates/mail/`` in the recipient's language,
queued in the ``outgoing_mail`` table inside the caller's transaction, and sent by a periodic
job of the worker (``MailSender``) through a ``Transport`` (SMTP today; another backend
implements ``Transport.send``). Never sent inside a request.

How services use it::

    from fedi.mail.messages import compose
    from fedi.mail.queue import enqueue

    enqueue(session, "reset", address, lang, compose("reset", lang, {"link": url, ...}))

Without an ``[email]`` section nothing is sent: the messages stay ``pending`` and
``voisins mail list`` shows them (and their links) so an admin can pass them on by hand.
"""
