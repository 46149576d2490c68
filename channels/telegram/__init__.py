"""Telegram, through python-telegram-bot: polling by default, webhook as an option."""
