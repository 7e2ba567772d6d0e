"""Rasa input channels for the platforms citizens already use: Zalo Official Account
(`connectors.zalo.ZaloInput`, webhook `/webhooks/zalo/webhook`) and Facebook Messenger
(`connectors.facebook.FacebookInput`, webhook `/webhooks/facebook/webhook`, replacing Rasa's
built-in one). Both check the platform's signature on the raw body before anything else,
acknowledge quickly and hand the message to Rasa in the background, and never let a failing
platform API lose a citizen's message. Operator's guide: docs/channels.md.
"""
