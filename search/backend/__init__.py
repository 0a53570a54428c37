"""Storage backends: where documents live and how their postings are read.

``whoosh`` (the default) keeps everything in one directory on one machine.
"""
