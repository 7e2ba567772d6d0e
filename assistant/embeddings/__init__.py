"""Sentence embeddings (multilingual-e5-small) for semantic search over the knowledge base."""
