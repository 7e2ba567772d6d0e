"""Trợ lý 06: shared package (Vietnamese text processing, knowledge base, Rasa components, settings)."""
