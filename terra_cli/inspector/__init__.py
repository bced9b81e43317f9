"""The inspector: a local web page over the events `terra listen` receives.

`feed` keeps what the page lists (live from a listen run, or read from the
saved log), `server` answers the page's requests on its own loopback port
behind a random token and a Host check, `series` pulls chart data out of
bodies, and `static/` holds the page itself (HTML, CSS, JS; no build step).
"""
