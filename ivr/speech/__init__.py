"""Speech: text-to-speech prompts rendered for Asterisk."""
