"""The reference provider: our own protocol (docs/protocol.md) and its embedded sandbox."""
