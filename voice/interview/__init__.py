"""Interview records: sessions, transcript lines with versions, sign-off, hashes, exports."""
