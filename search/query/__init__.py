"""The reader's query language: ``parse`` turns text into a tree, ``compile`` turns the tree into
what a backend evaluates."""
