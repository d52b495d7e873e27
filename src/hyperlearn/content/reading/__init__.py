"""Reading practice: texts (import, clean-up, sentences, level) and questions whose answers are
provably spans of the text (generation plus one grounding checker every question ends in)."""
