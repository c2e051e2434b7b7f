"""The rules of the shop. Standard library only."""
