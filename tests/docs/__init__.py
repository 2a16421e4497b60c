"""The documentation's examples, run against the emulator (collected by the root conftest)."""
