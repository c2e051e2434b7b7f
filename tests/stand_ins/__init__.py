"""Local stand-ins for third-party services, used by tests."""
