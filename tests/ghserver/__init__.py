"""A local GitHub REST test server (see README.md in this folder)."""

from .faults import Fault, Faults
from .server import GHServer, RequestRecord, ServerCheckError
from .state import BOT_TOKEN, DEFAULT_USER, USER_TOKEN, FileChange, State

__all__ = [
    "BOT_TOKEN",
    "DEFAULT_USER",
    "USER_TOKEN",
    "Fault",
    "Faults",
    "FileChange",
    "GHServer",
    "RequestRecord",
    "ServerCheckError",
    "State",
]
