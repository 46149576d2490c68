"""The website chat widget: its script, its WebSocket and the demo page."""
