"""Language models around the recommender, never in charge of what is correct.

Every feature here has a deterministic path that needs no model (the `none` backend, the
default). A model may theme, phrase or explain; grading never reads model output, and whatever a
model proposes goes through the same verifiers as the hand-written content."""
