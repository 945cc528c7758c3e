"""Adversarial attacks on hash models (filled in by the attack suite)."""
