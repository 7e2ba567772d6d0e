"""Clients for the project's own services, used by the action server."""
