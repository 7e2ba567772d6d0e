"""The officers' console: accounts, the draft → publish workflow over the knowledge base, pages and API."""
