"""What the core needs from the world, named by role."""
