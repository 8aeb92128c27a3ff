"""The handlers, one per command, registered in HANDLERS by importing their modules."""

from services.registry.handlers import access, models, policies, reviews, versions
from services.registry.handlers.base import HANDLERS, Handler

__all__ = ["HANDLERS", "Handler", "access", "models", "policies", "reviews", "versions"]
