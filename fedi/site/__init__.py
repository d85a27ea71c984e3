"""The member web site: server-rendered pages over ``fedi.services``.

Foundations (shared with the admin console): ``fedi.web.session`` (who is logged in),
``fedi.web.csrf`` (form tokens, checked for every route listed in ``fedi.site.routes``),
``fedi.web.templating.render`` (pages in the member's language), ``fedi.web.error_pages``
and ``fedi.i18n``. Each page module exposes ``routes = [...]``; ``fedi.site.routes`` lists
them all. Templates live in ``templates/site/`` and extend ``site/base.html``.
"""
