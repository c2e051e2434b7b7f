"""The `shop` command for operators."""
