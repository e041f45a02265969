"""Commercial text-to-audio-video APIs (Veo, Sora) as generators, never billed twice (see journal.py)."""
