"""The handlers, one per command, registered in HANDLERS by importing their modules."""

from services.registry.handlers import models, reviews, versions
from services.registry.handlers.base import HANDLERS, Handler

__all__ = ["HANDLERS", "Handler", "models", "reviews", "versions"]
