"""The web console: server-rendered pages over the same reads and commands as the API."""
