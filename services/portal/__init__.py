"""The public-service portal sandbox (port 8100): a stand-in for the national portal's API
that the action server submits dossiers to. See docs/portal-sandbox.md."""
