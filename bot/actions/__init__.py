"""Custom actions of the onboarding bot (rasa-sdk): walkthroughs, fallback, session start."""
