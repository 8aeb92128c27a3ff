"""The database schema, owned by versioned migrations (`registrum db migrate`).

Each database (the events database, the read database; one database may be both) keeps a
`registrum_schema` table of the versions applied to it. Processes refuse to start on a
schema older or newer than the one they were written for; only `registrum db migrate` and
`registrum serve` change it. The views' generation schemas stay the projector's: they are
made and swapped at run time (services/catalogue/store.py).
"""
