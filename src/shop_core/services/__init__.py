"""The use cases: async functions that take a command and the ports they need."""
