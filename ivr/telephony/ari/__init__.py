"""The ARI transport: Asterisk's REST interface and events websocket, with live audio over
external media RTP (see docs/ari.md)."""
