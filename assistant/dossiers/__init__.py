"""Dossiers filed in the chat: the journeys, reading and checking answers, corrections, submission outbox, receipts and statuses."""
