"""Radio channels: push-to-talk transmissions, recorder uploads, spoken status updates, audio retention."""
