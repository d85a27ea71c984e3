"""Real-time updates (Mastodon's streaming API): a broker carries small signals (kind + ids)
from committed writes to every web process; each process renders them per connected member.

- ``listener``: one open stream (bounded queue of frames) and the per-process registry.
- ``broker``: the transport of signals; in-process (SQLite, one web process) or PostgreSQL
  ``LISTEN/NOTIFY`` (several web processes). Both deliver only committed writes.
- ``capture``: ORM hooks that turn flushed writes into signals.
- ``dispatch``: per member audience check and rendering (layer of the API).
- ``routes``: the WebSocket and SSE endpoints.
"""
