"""The kiosk web chat of a commune-office PC, served by the FastAPI app at `/`.

    page (static/)  --fetch-->  routes.py  --sessions.py (who is at the PC)
                                           --bot.py      (Rasa's `kiosk` channel and HTTP API)
                                           --replies.py  (what of the bot's answer reaches the page)
                                           --the portal client (VNeID QR login)
"""
