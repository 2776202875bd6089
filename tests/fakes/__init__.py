"""Stateful fakes of the remote APIs, used through respx and on loopback."""
