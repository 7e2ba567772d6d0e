"""The procedure and FAQ knowledge base: typed model, loader with schema check, answers."""
