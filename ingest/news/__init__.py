"""The news pipeline's building blocks: declarations, discovery, canonical URLs,
the news fetch guard and article extraction.

Each module works on bytes and text it is given and fetches nothing, so the
spider decides what is fetched, when and how politely.
"""
