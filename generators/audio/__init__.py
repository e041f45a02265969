"""Audio for rendered clips: music and ambience beds, sound cues, and the stem mixer."""
