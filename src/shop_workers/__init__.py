"""SAQ workers: each task is a few lines that call one use case on the Shop in `ctx`."""
