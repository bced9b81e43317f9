"""`terra mock`: a local stand-in for Terra's REST API, its widget and the webhooks that follow.

`service.MockService` answers requests (one routes module per Terra area:
`auth`, `data`, `users`, `workouts`), `state` holds the connected mock users
and the open widget and authentication flows, `scheduler` delivers the
webhooks through the project's one delivery path, `server` puts it all behind
the standard library's HTTP server, and `run` starts and stops the three
together. Nothing here prints: every request served and every delivery
attempt becomes a record handed to the caller's sinks.
"""
