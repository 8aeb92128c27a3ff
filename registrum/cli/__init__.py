"""The `registrum` command for users of a registry, built only on the SDK.

Operator commands (serve, projector, relay, intake, views) come from the server's
package through the `registrum.cli` entry points (plugins.py); nothing here imports it.
"""
