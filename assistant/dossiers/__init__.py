"""Dossiers filed in the chat: journeys, answers read and checked, corrections, the
submission outbox, receipts and statuses."""
